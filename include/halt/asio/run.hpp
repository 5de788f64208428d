#pragma once
// halt::run: a work item on an executor, skipped if its token is already cancelled (.NET's Task.Run(fn, token)).

#include <concepts>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <halt/asio/detail/default_token.hpp>
#include <halt/canceled_error.hpp>
#include <halt/token.hpp>

namespace halt {
namespace asio_detail {

namespace asio = boost::asio;

/// `fn(tok)` when `fn` takes the token, else `fn()`.
template <class F>
decltype(auto) invoke_with_token(F& fn, const halt::token& tok) {
    if constexpr (std::invocable<F&, const halt::token&>) {
        return std::invoke(fn, tok);
    } else {
        return std::invoke(fn);
    }
}

template <class F>
using work_result_t = std::decay_t<decltype(invoke_with_token(std::declval<F&>(), std::declval<const halt::token&>()))>;

template <class R>
struct work_signature {
    static_assert(std::is_default_constructible_v<R>,
                  "halt::run: the result type must be default-constructible (it is passed, unused, on failure)");
    using type = void(std::exception_ptr, R);
};
template <>
struct work_signature<void> {
    using type = void(std::exception_ptr);
};

/// The exception a work item ends with: a halt::canceled_error of its own token is normalised to the
/// token's (so that it reports the token's reason); anything else is passed on as it is.
inline std::exception_ptr classify_failure(const halt::token& tok) {
    try {
        throw;
    } catch (const halt::canceled_error& error) {
        if (error.token() == tok && tok.is_cancellation_requested()) {
            return std::make_exception_ptr(halt::canceled_error(tok));
        }
        return std::current_exception();
    } catch (...) {
        return std::current_exception();
    }
}

template <class Executor>
struct initiate_run {
    Executor executor;

    const Executor& get_executor() const noexcept { return executor; }

    template <class Handler, class F>
    void operator()(Handler&& handler, F&& fn, halt::token tok) const {
        using result_type = work_result_t<std::decay_t<F>>;
        auto handler_executor =
            asio::prefer(asio::get_associated_executor(handler, executor), asio::execution::outstanding_work.tracked);
        auto complete = [handler = std::forward<Handler>(handler), handler_executor](auto... arguments) mutable {
            asio::dispatch(handler_executor,
                           [handler = std::move(handler), ... arguments = std::move(arguments)]() mutable {
                               std::move(handler)(std::move(arguments)...);
                           });
        };
        auto canceled = [&tok] { return std::make_exception_ptr(halt::canceled_error(tok)); };
        if (tok.is_cancellation_requested()) {
            // Never started: complete through the handler's executor, not inside this call.
            if constexpr (std::is_void_v<result_type>) {
                asio::post(handler_executor, [complete = std::move(complete), error = canceled()]() mutable { complete(error); });
            } else {
                asio::post(handler_executor,
                           [complete = std::move(complete), error = canceled()]() mutable { complete(error, result_type()); });
            }
            return;
        }
        asio::post(executor, [complete = std::move(complete), fn = std::forward<F>(fn), tok = std::move(tok)]() mutable {
            if (tok.is_cancellation_requested()) {  // cancelled while queued: fn never starts
                std::exception_ptr error = std::make_exception_ptr(halt::canceled_error(tok));
                if constexpr (std::is_void_v<result_type>) {
                    complete(std::move(error));
                } else {
                    complete(std::move(error), result_type());
                }
                return;
            }
            if constexpr (std::is_void_v<result_type>) {
                std::exception_ptr error;
                try {
                    invoke_with_token(fn, tok);
                } catch (...) {
                    error = classify_failure(tok);
                }
                complete(std::move(error));
            } else {
                std::exception_ptr error;
                result_type result{};
                try {
                    result = invoke_with_token(fn, tok);
                } catch (...) {
                    error = classify_failure(tok);
                }
                complete(std::move(error), std::move(result));
            }
        });
    }
};

}  // namespace asio_detail

/// Runs `fn` on `executor` (a thread_pool's, an io_context's, a strand) as a work item cancelled by
/// `tok`, and completes with its outcome. `fn` is called as `fn(tok)` if it accepts a halt::token,
/// else as `fn()`. Completion signature `void(std::exception_ptr, R)`, or `void(std::exception_ptr)`
/// when `fn` returns void:
///
///     int n = co_await halt::run(pool.get_executor(), [](halt::token t) { return count(t); }, tok, asio::use_awaitable);
///     std::future<int> f = halt::run(pool.get_executor(), count_fn, tok, asio::use_future);
///
/// - `fn` is never started if `tok` is cancelled, whether at the call (the handler is then posted at
///   once) or while the item waits in the queue: it completes with halt::canceled_error(tok).
/// - `fn` throwing a halt::canceled_error of `tok` completes it as cancelled: canceled_error(tok), with
///   `tok`'s reason. Any other exception (including another token's canceled_error) completes it as
///   failed, with that exception.
/// - Once started, `fn` runs to its end: cancellation is cooperative, `fn` polls its token.
/// - The handler runs on its associated executor, else on `executor`; work is tracked on both.
/// - `R` must be default-constructible (it is passed, unused, with an exception), as for co_spawn.
/// - Without a completion token: the executor's default, else asio::use_awaitable (`co_await` it).
template <class Executor, class F, class CompletionToken = asio_detail::default_token_t<Executor>>
auto run(const Executor& executor, F&& fn, halt::token tok, CompletionToken&& completion_token = CompletionToken()) {
    using signature = typename asio_detail::work_signature<asio_detail::work_result_t<std::decay_t<F>>>::type;
    return boost::asio::async_initiate<CompletionToken, signature>(asio_detail::initiate_run<Executor>{executor},
                                                                  completion_token, std::forward<F>(fn), std::move(tok));
}

}  // namespace halt
