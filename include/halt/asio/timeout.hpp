#pragma once
// Time limits for Asio coroutines: with_timeout / with_deadline (throw on expiry, Trio's fail_after) and
// try_with_timeout / try_with_deadline (return empty on expiry, Trio's move_on_after).

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <halt/asio/co_spawn.hpp>
#include <halt/asio/detail/child_executor.hpp>
#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/source.hpp>

namespace halt {

/// What the non-throwing forms return: std::optional<T>, or bool (true: finished in time) for void.
template <class T>
using timeout_result_t = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

namespace asio_detail {

template <class Clock, class Duration>
std::chrono::steady_clock::time_point to_steady(std::chrono::time_point<Clock, Duration> time) {
    if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
        return std::chrono::time_point_cast<std::chrono::steady_clock::duration>(time);
    } else {
        return halt::detail::saturating_deadline_after(time - Clock::now());
    }
}

/// Runs `operation` as a child coroutine bound to a source that cancels at `deadline`. Returns the
/// value (throwing form) or the optional (empty form).
template <bool Throwing, class T, class Executor>
boost::asio::awaitable<std::conditional_t<Throwing, T, timeout_result_t<T>>, Executor> run_until(
    boost::asio::awaitable<T, Executor> operation, std::chrono::steady_clock::time_point deadline) {
    halt::source timeout;
    timeout.cancel_at(deadline);  // a deadline already past cancels now: the operation never starts
    const halt::token tok = timeout.token();
    const Executor executor = child_executor(co_await boost::asio::this_coro::executor);
    try {
        // The awaiting coroutine's own cancellation reaches the child through use_awaitable's slot,
        // which halt::bind forwards; it then surfaces as operation_aborted, not as a timeout.
        if constexpr (std::is_void_v<T>) {
            co_await halt::co_spawn(executor, std::move(operation), tok, boost::asio::use_awaitable_t<Executor>{});
            if constexpr (Throwing) {
                co_return;
            } else {
                co_return true;
            }
        } else {
            co_return co_await halt::co_spawn(executor, std::move(operation), tok,
                                              boost::asio::use_awaitable_t<Executor>{});
        }
    } catch (const halt::canceled_error& error) {
        if (error.token() != tok) throw;  // someone else's cancellation
    }
    if constexpr (Throwing) {
        throw halt::canceled_error(make_error_code(errc::deadline_exceeded), tok);
    } else if constexpr (std::is_void_v<T>) {
        co_return false;
    } else {
        co_return std::nullopt;
    }
}

}  // namespace asio_detail

/// Awaits `operation`, cancelling it if it has not finished by `deadline` (any clock; others than
/// steady_clock are converted once, now). On expiry throws halt::canceled_error with code()
/// errc::deadline_exceeded, after the operation has stopped.
///
///     auto reply = co_await halt::with_deadline(client.fetch(url), request_deadline);
///
/// - `operation` runs as a child coroutine on a strand of the current executor (within it, if that
///   is a strand); its own cancellation points (its co_awaits) are where it stops. A deadline already
///   past never starts it.
/// - If it finishes in time, its value (or exception) is returned (or rethrown) unchanged.
/// - Cancelling the awaiting coroutine cancels it too, reported as operation_aborted, not as a timeout.
template <class T, class Executor, class Clock, class Duration>
boost::asio::awaitable<T, Executor> with_deadline(boost::asio::awaitable<T, Executor> operation,
                                                  std::chrono::time_point<Clock, Duration> deadline) {
    return asio_detail::run_until<true>(std::move(operation), asio_detail::to_steady(deadline));
}

/// with_deadline(operation, now + timeout).
///
///     co_await halt::with_timeout(socket.async_read_some(buffer, asio::use_awaitable), 5s);
template <class T, class Executor, class Rep, class Period>
boost::asio::awaitable<T, Executor> with_timeout(boost::asio::awaitable<T, Executor> operation,
                                                 std::chrono::duration<Rep, Period> timeout) {
    return asio_detail::run_until<true>(std::move(operation), halt::detail::saturating_deadline_after(timeout));
}

/// As with_deadline, but expiry returns an empty result instead of throwing: std::nullopt, or false
/// for an awaitable<void> (true when it finished in time).
///
///     if (auto reply = co_await halt::try_with_deadline(client.fetch(url), deadline)) use(*reply);
template <class T, class Executor, class Clock, class Duration>
boost::asio::awaitable<timeout_result_t<T>, Executor> try_with_deadline(boost::asio::awaitable<T, Executor> operation,
                                                                        std::chrono::time_point<Clock, Duration> deadline) {
    return asio_detail::run_until<false>(std::move(operation), asio_detail::to_steady(deadline));
}

/// try_with_deadline(operation, now + timeout).
template <class T, class Executor, class Rep, class Period>
boost::asio::awaitable<timeout_result_t<T>, Executor> try_with_timeout(boost::asio::awaitable<T, Executor> operation,
                                                                       std::chrono::duration<Rep, Period> timeout) {
    return asio_detail::run_until<false>(std::move(operation), halt::detail::saturating_deadline_after(timeout));
}

}  // namespace halt
