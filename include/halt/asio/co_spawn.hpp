#pragma once
// halt::co_spawn: start an Asio coroutine that a halt token cancels.

#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/system/system_error.hpp>

#include <halt/asio/bind.hpp>
#include <halt/canceled_error.hpp>
#include <halt/token.hpp>

namespace halt {
namespace asio_detail {

/// Runs `body` and turns the operation_aborted it ends with, when `tok` caused it, into the
/// halt::canceled_error of `tok` (so the caller sees the reason).
template <class T, class Executor>
asio::awaitable<T, Executor> report_cancellation(asio::awaitable<T, Executor> body, halt::token tok) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(body);
            co_return;
        } else {
            co_return co_await std::move(body);
        }
    } catch (const boost::system::system_error& error) {
        if (error.code() != asio::error::operation_aborted || !tok.is_cancellation_requested()) throw;
    }
    throw halt::canceled_error(tok);
}

template <class Executor>
concept any_executor = asio::execution::is_executor<Executor>::value || asio::is_executor<Executor>::value;

}  // namespace asio_detail

/// Spawns `awaitable` as asio::co_spawn does (same completion signature: `void(std::exception_ptr)` or
/// `void(std::exception_ptr, T)`), cancelled when `tok` is.
///
/// - Cancelling `tok` cancels the coroutine's Asio cancellation state, on the coroutine's executor:
///   the operation it is waiting for is cancelled, and a coroutine that never looks at a token still
///   stops at its next co_await (Asio throws operation_aborted there). It then completes with a
///   halt::canceled_error carrying `tok` and its reason.
/// - An already-cancelled `tok`: the coroutine is never started; it completes at once (through the
///   executor) with that halt::canceled_error.
/// - Inside, `co_await halt::this_coro::token` yields a token cancelled with `tok`'s reason.
/// - On a multi-threaded io_context, spawn on a strand (asio::make_strand): Asio's cancellation state
///   is not thread-safe, and the strand is what serializes the cancellation with the coroutine.
template <asio_detail::any_executor Executor, class T, class AwaitableExecutor, class CompletionToken>
    requires std::is_convertible_v<Executor, AwaitableExecutor>
auto co_spawn(const Executor& executor, boost::asio::awaitable<T, AwaitableExecutor> awaitable, halt::token tok,
              CompletionToken&& completion_token) {
    halt::token reported = tok;
    // halt::bind emits a co_spawn's cancellation on the coroutine's own executor.
    return boost::asio::co_spawn(executor, asio_detail::report_cancellation(std::move(awaitable), std::move(reported)),
                                 halt::bind(std::move(tok), std::forward<CompletionToken>(completion_token)));
}

/// As above, on the executor of `context`.
template <class ExecutionContext, class T, class AwaitableExecutor, class CompletionToken>
    requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
auto co_spawn(ExecutionContext& context, boost::asio::awaitable<T, AwaitableExecutor> awaitable, halt::token tok,
              CompletionToken&& completion_token) {
    return halt::co_spawn(context.get_executor(), std::move(awaitable), std::move(tok),
                          std::forward<CompletionToken>(completion_token));
}

}  // namespace halt
