#pragma once
// halt::parallel_for_each: a body per element, a bounded number at a time, the first failure cancelling
// the rest (.NET's Parallel.ForEachAsync).

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <ranges>
#include <thread>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>

#include <halt/asio/bind.hpp>
#include <halt/asio/detail/child_executor.hpp>
#include <halt/asio/detail/default_token.hpp>
#include <halt/asio/detail/emit_context.hpp>
#include <halt/canceled_error.hpp>
#include <halt/source.hpp>
#include <halt/token.hpp>

namespace halt {

/// The most bodies parallel_for_each runs at once (.NET's MaxDegreeOfParallelism). Zero means one.
struct max_parallelism {
    std::size_t value;
};

namespace asio_detail {

namespace asio = boost::asio;

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class Executor>
struct is_awaitable<asio::awaitable<T, Executor>> : std::true_type {
    using executor_type = Executor;
};

/// `body(element, tok)` when the body takes the token, else `body(element)`.
template <class Body, class Element>
decltype(auto) invoke_body(Body& body, Element&& element, const halt::token& tok) {
    if constexpr (std::invocable<Body&, Element, const halt::token&>) {
        return std::invoke(body, std::forward<Element>(element), tok);
    } else {
        return std::invoke(body, std::forward<Element>(element));
    }
}

template <class Body, class Range>
using body_result_t = decltype(invoke_body(std::declval<Body&>(), std::declval<std::ranges::range_reference_t<Range>>(),
                                           std::declval<const halt::token&>()));

template <class T>
struct is_strand : std::false_type {};
template <class Executor>
struct is_strand<asio::strand<Executor>> : std::true_type {};

/// The executor of the synchronous bodies' workers: a strand of the caller's executor type itself
/// (not wrapped in any_io_executor, which would have to allocate a strand over a thread_pool's
/// executor as a shared target), or the caller's strand, or, for executors a strand cannot wrap,
/// any_io_executor.
template <class Executor>
using sync_worker_executor_t =
    std::conditional_t<is_strand<Executor>::value, Executor,
                       std::conditional_t<asio::execution::is_executor<Executor>::value, asio::strand<Executor>,
                                          asio::any_io_executor>>;

/// Asynchronous bodies run in worker coroutines of their own executor type; synchronous ones on
/// sync_worker_executor_t.
template <class Body, class Range, class Executor>
using worker_executor_t =
    typename std::conditional_t<is_awaitable<std::decay_t<body_result_t<Body, Range>>>::value,
                                is_awaitable<std::decay_t<body_result_t<Body, Range>>>,
                                is_awaitable<asio::awaitable<void, sync_worker_executor_t<Executor>>>>::executor_type;

/// Whether `error` is a cancellation rather than a failure of its own.
inline bool is_cancellation(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const halt::canceled_error&) {
        return true;
    } catch (const boost::system::system_error& e) {
        return e.code() == asio::error::operation_aborted;
    } catch (const std::system_error& e) {
        return e.code() == std::errc::operation_canceled;
    } catch (...) {
        return false;
    }
}

/// Shared by the workers. Workers take elements one at a time under `mutex_` (a body is at least a
/// function call, so one uncontended lock per element is noise); the first failure cancels `source_`,
/// which both stops the hand-out and cancels the running bodies. The worker that brings `running_` to
/// zero (acq_rel: it sees every worker's writes) dispatches the completion to the handler's executor.
template <class Handler, class Executor, class Range, class Body>
class for_each_state {
public:
    using worker_executor = worker_executor_t<Body, Range, Executor>;
    static constexpr bool synchronous_body = !is_awaitable<std::decay_t<body_result_t<Body, Range>>>::value;

    template <class RangeArgument>
    static void start(Handler handler, const Executor& executor, RangeArgument&& range, Body body, halt::token tok,
                      std::size_t workers) {
        auto* state = new for_each_state(std::move(handler), executor, std::forward<RangeArgument>(range),
                                         std::move(body), std::move(tok), workers);
        if (state->parent_slot_.is_connected()) state->parent_slot_.template emplace<parent_cancel>(state);
        const halt::token inner = state->source_.token();
        for (std::size_t i = 0; i < workers; ++i) {
            // Each worker on its own strand: workers run in parallel, each serialized with its own
            // cancellation. After the last call the state may already be gone: nothing below touches it.
            asio::co_spawn(worker_executor_for(executor), run_worker(state, inner),
                           halt::bind(std::cref(inner), worker_done{state}));
        }
    }

private:
    using iterator = std::ranges::iterator_t<Range>;

    static worker_executor worker_executor_for(const Executor& executor) {
        if constexpr (synchronous_body && std::is_same_v<worker_executor, asio::strand<Executor>>) {
            return asio::make_strand(executor);  // a new strand per worker
        } else if constexpr (synchronous_body && std::is_same_v<worker_executor, Executor>) {
            return executor;  // the caller's strand: the workers take turns on it
        } else {
            return child_executor(worker_executor(executor));
        }
    }
    using handler_executor_type =
        std::decay_t<decltype(asio::prefer(asio::get_associated_executor(std::declval<Handler&>(), std::declval<const Executor&>()),
                                           asio::execution::outstanding_work.tracked))>;

    template <class RangeArgument>
    for_each_state(Handler&& handler, const Executor& executor, RangeArgument&& range, Body&& body, halt::token tok,
                   std::size_t workers)
        : handler_(std::move(handler)),
          handler_executor_(asio::prefer(asio::get_associated_executor(handler_, executor),
                                         asio::execution::outstanding_work.tracked)),
          parent_slot_(asio::get_associated_cancellation_slot(handler_)),
          range_(std::forward<RangeArgument>(range)),
          body_(std::move(body)),
          caller_token_(tok),
          source_(halt::source::linked(tok)),
          next_(std::ranges::begin(range_)),
          running_(workers) {}

    struct worker_done {
        for_each_state* state;
        void operator()(std::exception_ptr error) const { state->worker_finished(std::move(error)); }
    };

    struct parent_cancel {
        for_each_state* state;
        void operator()(boost::asio::cancellation_type_t type) const {
            if (type != boost::asio::cancellation_type::none) state->source_.cancel(current_emit_reason());
        }
    };

    struct completion {
        for_each_state* state;
        void operator()() const { state->complete(); }
    };

    static asio::awaitable<void, worker_executor> run_worker(for_each_state* state, halt::token tok) {
        while (std::optional<iterator> element = state->take()) {
            try {
                if constexpr (is_awaitable<std::decay_t<body_result_t<Body, Range>>>::value) {
                    co_await invoke_body(state->body_, **element, tok);
                } else {
                    invoke_body(state->body_, **element, tok);
                }
            } catch (...) {
                // Fail here, not when this worker's completion arrives: the other workers may be
                // running synchronous bodies back to back and would take every element meanwhile.
                state->fail(std::current_exception());
                co_return;
            }
        }
    }

    /// The next element to process, or empty once the range is exhausted or the loop cancelled.
    std::optional<iterator> take() {
        std::lock_guard lock(mutex_);
        if (source_.is_cancellation_requested()) return std::nullopt;
        if (next_ == std::ranges::end(range_)) {
            exhausted_ = true;
            return std::nullopt;
        }
        return next_++;
    }

    /// The first failure is kept and cancels the others (their bodies' tokens, and the hand-out).
    void fail(std::exception_ptr error) {
        if (!failed_.exchange(true, std::memory_order_relaxed)) {
            error_ = std::move(error);
            source_.cancel();
        }
    }

    void worker_finished(std::exception_ptr error) {
        if (error) fail(std::move(error));  // the worker itself was cancelled before its first element
        if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            asio::dispatch(handler_executor_, completion{this});
        }
    }

    void complete() {
        if (parent_slot_.is_connected()) parent_slot_.clear();
        std::exception_ptr error = std::move(error_);
        // Stopped by the caller's token (not by a body's own failure): report that token's cancellation.
        if (caller_token_.is_cancellation_requested() && (error ? is_cancellation(error) : !exhausted_)) {
            error = std::make_exception_ptr(halt::canceled_error(caller_token_));
        } else if (!error && !exhausted_) {
            // Stopped by the awaiting coroutine's cancellation.
            error = std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted));
        }
        Handler handler(std::move(handler_));
        delete this;
        std::move(handler)(std::move(error));
    }

    Handler handler_;
    handler_executor_type handler_executor_;
    asio::cancellation_slot parent_slot_;
    Range range_;
    Body body_;
    halt::token caller_token_;
    halt::source source_;
    std::mutex mutex_;
    iterator next_;         // guarded by mutex_
    bool exhausted_ = false;  // guarded by mutex_; read by complete() after every worker finished
    std::exception_ptr error_;
    std::atomic<bool> failed_{false};
    std::atomic<std::size_t> running_;
};

template <class Executor>
struct initiate_parallel_for_each {
    Executor executor;

    const Executor& get_executor() const noexcept { return executor; }

    template <class Handler, class Range, class Body>
    void operator()(Handler&& handler, Range&& range, Body&& body, halt::token tok, std::size_t workers) const {
        if (tok.is_cancellation_requested()) {
            // No body starts: complete through the handler's executor, not inside this call.
            auto handler_executor = asio::get_associated_executor(handler, executor);
            asio::post(handler_executor, [handler = std::forward<Handler>(handler), tok]() mutable {
                std::move(handler)(std::make_exception_ptr(halt::canceled_error(tok)));
            });
            return;
        }
        for_each_state<std::decay_t<Handler>, Executor, std::decay_t<Range>, std::decay_t<Body>>::start(
            std::forward<Handler>(handler), executor, std::forward<Range>(range), std::forward<Body>(body), std::move(tok),
            std::max<std::size_t>(workers, 1));
    }
};

template <class T>
concept not_parallelism = !std::same_as<std::remove_cvref_t<T>, max_parallelism>;

}  // namespace asio_detail

/// Calls `body` once per element of `range`, at most `degree.value` at a time, on `executor`, and
/// completes with `void(std::exception_ptr)` when every started body has finished:
///
///     co_await halt::parallel_for_each(pool.get_executor(), urls,
///         [](const std::string& url, halt::token t) -> asio::awaitable<void> { co_await fetch(url, t); },
///         tok, halt::max_parallelism{8}, asio::use_awaitable);
///
/// - `body(element, token)` or `body(element)`; it may return void (run on the executor's threads:
///   use a thread_pool's executor for parallelism) or an asio::awaitable<void> (run as a coroutine).
///   Each of the `degree` workers runs on its own strand of `executor`, so bodies run in parallel on a
///   multi-threaded executor while each stays serialized with its own cancellation.
/// - The token a body gets is cancelled when `tok` is, and when any body fails. The first body to
///   throw stops the hand-out of elements and cancels the running bodies (asynchronous ones stop at
///   their next co_await); the loop then completes with that exception (.NET's Parallel.ForEachAsync).
/// - `tok` cancelled: no further element starts, and the loop completes with halt::canceled_error(tok)
///   (at once, through the executor, if it already was). Cancelling the awaiting coroutine (the
///   handler's slot) stops it too, with operation_aborted.
/// - An lvalue `range` is iterated in place and must outlive the loop; an rvalue is moved in. The
///   range must be a forward range; elements are taken one at a time under a lock.
/// - Without a completion token: the executor's default, else asio::use_awaitable (`co_await` it).
template <class Executor, std::ranges::forward_range Range, class Body, asio_detail::not_parallelism CompletionToken =
                                                                                 asio_detail::default_token_t<Executor>>
auto parallel_for_each(const Executor& executor, Range&& range, Body&& body, halt::token tok, max_parallelism degree,
                       CompletionToken&& completion_token = CompletionToken()) {
    // views::all: an lvalue range travels as a ref_view (borrowed, never copied, even into a deferred
    // operation), an rvalue one as an owning_view.
    return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr)>(
        asio_detail::initiate_parallel_for_each<Executor>{executor}, completion_token,
        std::views::all(std::forward<Range>(range)), std::forward<Body>(body), std::move(tok), degree.value);
}

/// As above, with as many bodies at once as the machine has hardware threads.
template <class Executor, std::ranges::forward_range Range, class Body, asio_detail::not_parallelism CompletionToken =
                                                                                 asio_detail::default_token_t<Executor>>
auto parallel_for_each(const Executor& executor, Range&& range, Body&& body, halt::token tok,
                       CompletionToken&& completion_token = CompletionToken()) {
    return halt::parallel_for_each(executor, std::forward<Range>(range), std::forward<Body>(body), std::move(tok),
                                   max_parallelism{std::max(1u, std::thread::hardware_concurrency())},
                                   std::forward<CompletionToken>(completion_token));
}

}  // namespace halt
