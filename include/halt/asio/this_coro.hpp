#pragma once
// halt::this_coro::token: the halt token of the running Asio coroutine.

#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>

#include <halt/asio/detail/coroutine_bridge.hpp>
#include <halt/token.hpp>

namespace halt {
namespace asio_detail {

/// Receives the coroutine itself as the handler (Asio's awaitable threads are their own handlers),
/// looks up or installs its bridge, and resumes it at once with the token.
struct initiate_coroutine_token {
    template <class Handler>
    void operator()(Handler&& handler) const {
        static_assert(requires { handler.get_cancellation_state(); },
                      "co_await halt::this_coro::token is only valid inside an asio::awaitable");
        halt::token tok = coroutine_token(handler);
        std::forward<Handler>(handler)(std::move(tok));
    }
};

}  // namespace asio_detail

namespace this_coro {

/// The type of halt::this_coro::token. An Asio asynchronous operation with signature
/// `void(halt::token)` that completes at once.
struct token_t {
    template <class CompletionToken>
    auto operator()(CompletionToken&& completion_token) const
        -> decltype(boost::asio::async_initiate<CompletionToken, void(halt::token)>(
            asio_detail::initiate_coroutine_token{}, completion_token)) {
        return boost::asio::async_initiate<CompletionToken, void(halt::token)>(
            asio_detail::initiate_coroutine_token{}, completion_token);
    }
};

/// Inside an asio::awaitable, `co_await halt::this_coro::token` yields a halt::token that is cancelled
/// when the coroutine's Asio cancellation state is: by halt::co_spawn's token (with that token's
/// reason), by a halt::bind on co_spawn, by when_any/when_all/with_timeout, or by any Asio canceller
/// (a parallel group, a bind_cancellation_slot; reason errc::canceled). Use it to pass the coroutine's
/// cancellation to code that takes a halt::token: halt::run work items, blocking calls, callbacks.
///
///     asio::awaitable<void> handler(tcp::socket socket) {
///         halt::token tok = co_await halt::this_coro::token;
///         co_await halt::run(pool.get_executor(), [&](halt::token t) { parse(t); }, tok, asio::use_awaitable);
///     }
///
/// - Every frame of one coroutine (one co_spawn) gets the same token; the first co_await installs a
///   bridge in the coroutine's cancellation state, which keeps Asio's default filter (terminal
///   cancellation). Installing a custom filter later with asio::this_coro::reset_cancellation_state
///   disconnects the tokens handed out before (they can no longer be cancelled); install it first.
/// - A coroutine that no one can cancel (spawned with asio::detached and no slot) gets token::none().
/// - Like any co_await in an Asio coroutine, it throws operation_aborted when the coroutine is already
///   cancelled (unless throw_if_cancelled(false)); then the token it returns is already cancelled.
/// - Cost: one mutex-guarded lookup; the first use in a coroutine also allocates the bridge (a
///   halt::source and its registry entry). The coroutine resumes at once, without a trip through
///   the executor.
/// - Coroutines with any executor type are supported.
inline constexpr token_t token{};

}  // namespace this_coro
}  // namespace halt

namespace boost::asio::detail {

// Asio 1.26 awaits an asynchronous operation only when the operand is an rvalue (it stores `Op&&`
// with Op the decayed type). `co_await halt::this_coro::token` names a constant, an lvalue; this
// specialization makes Asio hold it by const reference instead, and otherwise runs Asio's own code.
template <class Signature, class Executor>
class awaitable_async_op<Signature, halt::this_coro::token_t, Executor>
    : public awaitable_async_op<Signature, const halt::this_coro::token_t&, Executor> {
public:
    using awaitable_async_op<Signature, const halt::this_coro::token_t&, Executor>::awaitable_async_op;
};

}  // namespace boost::asio::detail
