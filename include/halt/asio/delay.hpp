#pragma once
// halt::delay: a cancellable sleep for Asio coroutines (.NET's Task.Delay(duration, token)).

#include <chrono>
#include <functional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <halt/asio/bind.hpp>
#include <halt/canceled_error.hpp>
#include <halt/token.hpp>

namespace halt {

/// Suspends the calling coroutine until `time` (steady clock), or until `tok` is cancelled.
///
/// - `tok` cancelled (before or during the wait): throws halt::canceled_error carrying `tok`, whose
///   code() is the reason (errc::deadline_exceeded when `tok`'s own deadline fired).
/// - The coroutine cancelled through Asio (when_any loser, a parallel group, ...): throws
///   boost::system::system_error(operation_aborted), like any Asio operation.
/// - Uses an asio::steady_timer on the coroutine's executor; allocates nothing beyond the timer's
///   operation and halt::bind's recycled state.
inline boost::asio::awaitable<void> delay_until(std::chrono::steady_clock::time_point time, halt::token tok = {}) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, time);
    // std::cref: `tok` lives in this frame until the wait is over; no reference counting needed.
    auto [error] =
        co_await timer.async_wait(halt::bind(std::cref(tok), boost::asio::as_tuple(boost::asio::use_awaitable)));
    if (!error) co_return;
    if (tok.is_cancellation_requested()) throw halt::canceled_error(tok);
    throw boost::system::system_error(error, "halt::delay");
}

/// Suspends the calling coroutine for `duration`, or until `tok` is cancelled; see delay_until.
///
///     co_await halt::delay(500ms, tok);   // throws halt::canceled_error if tok is cancelled
template <class Rep, class Period>
boost::asio::awaitable<void> delay(std::chrono::duration<Rep, Period> duration, halt::token tok = {}) {
    return halt::delay_until(halt::detail::saturating_deadline_after(duration), std::move(tok));
}

}  // namespace halt
