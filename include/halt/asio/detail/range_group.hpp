#pragma once
// The engine of when_any and when_all over a run-time number of arms of one type (a std::vector of
// awaitables). The protocol is arm_group's (see arm_group.hpp): each arm is a co_spawn on a strand of
// the caller's executor bound to the group's source; the first to decide wins one atomic exchange; the
// arm that brings `pending_` to zero dispatches the completion to the caller's executor.

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <halt/asio/bind.hpp>
#include <halt/asio/detail/arm_group.hpp>
#include <halt/asio/detail/child_executor.hpp>
#include <halt/asio/detail/emit_context.hpp>
#include <halt/source.hpp>

namespace halt::asio_detail {

template <join_mode Mode, class T>
using range_value_t = std::conditional_t<Mode == join_mode::first_completion, std::pair<std::size_t, arm_value_t<T>>,
                                         std::vector<arm_value_t<T>>>;

template <join_mode Mode, class Handler, class Executor, class T>
class range_group {
public:
    using value_type = range_value_t<Mode, T>;

    /// `arms` is not empty.
    static void start(Handler handler, const Executor& executor, std::vector<asio::awaitable<T, Executor>> arms) {
        auto* group = new range_group(std::move(handler), executor, arms.size());
        if (group->parent_slot_.is_connected()) group->parent_slot_.template emplace<parent_cancel>(group);
        // Nothing touches `group` after the last co_spawn call: its arm may finish, and the group be
        // freed, before that call returns.
        const halt::token tok = group->source_.token();
        for (std::size_t index = 0; index < arms.size(); ++index) {
            asio::co_spawn(child_executor(executor), std::move(arms[index]),
                           halt::bind(std::cref(tok), arm_done{group, index}));
        }
    }

private:
    using handler_executor_type =
        std::decay_t<decltype(asio::prefer(asio::get_associated_executor(std::declval<Handler&>(), std::declval<const Executor&>()),
                                           asio::execution::outstanding_work.tracked))>;

    range_group(Handler&& handler, const Executor& executor, std::size_t count)
        : handler_(std::move(handler)),
          handler_executor_(asio::prefer(asio::get_associated_executor(handler_, executor),
                                         asio::execution::outstanding_work.tracked)),
          parent_slot_(asio::get_associated_cancellation_slot(handler_)),
          results_(count),
          pending_(count) {}

    struct arm_done {
        range_group* group;
        std::size_t index;
        template <class... Value>
        void operator()(std::exception_ptr error, Value&&... value) {
            group->finished(index, std::move(error), std::forward<Value>(value)...);
        }
    };

    struct parent_cancel {
        range_group* group;
        void operator()(asio::cancellation_type_t type) const {
            if (type != asio::cancellation_type::none) group->source_.cancel(current_emit_reason());
        }
    };

    struct completion {
        range_group* group;
        void operator()() const { group->complete(); }
    };

    template <class... Value>
    void finished(std::size_t index, std::exception_ptr error, Value&&... value) {
        // Each arm writes only its own slot; only the decider writes `winner_` and `error_`.
        const bool failed = error != nullptr;
        if (!failed) results_[index].emplace(std::forward<Value>(value)...);
        if (failed || Mode == join_mode::first_completion) {
            if (!decided_.exchange(true, std::memory_order_relaxed)) {
                winner_ = index;
                error_ = std::move(error);
                source_.cancel();
            }
        }
        // Acq_rel: the last arm sees every other arm's result and decision.
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) asio::dispatch(handler_executor_, completion{this});
    }

    value_type take_value() {
        if (error_) return value_type();
        if constexpr (Mode == join_mode::first_completion) {
            return value_type(winner_, std::move(*results_[winner_]));
        } else {
            value_type values;
            values.reserve(results_.size());
            for (auto& slot : results_) values.push_back(std::move(*slot));
            return values;
        }
    }

    void complete() {
        if (parent_slot_.is_connected()) parent_slot_.clear();
        Handler handler(std::move(handler_));
        std::exception_ptr error = std::move(error_);
        value_type value = take_value();
        delete this;
        std::move(handler)(std::move(error), std::move(value));
    }

    Handler handler_;
    handler_executor_type handler_executor_;
    asio::cancellation_slot parent_slot_;
    halt::source source_;
    std::vector<std::optional<arm_value_t<T>>> results_;
    std::exception_ptr error_;
    std::size_t winner_ = 0;
    std::atomic<bool> decided_{false};
    std::atomic<std::size_t> pending_;
};

template <join_mode Mode, class Executor, class T>
struct initiate_range_join {
    // A constructor, not aggregate initialization (see initiate_join).
    explicit initiate_range_join(const Executor& ex) : executor(ex) {}

    Executor executor;

    template <class Handler>
    void operator()(Handler&& handler, std::vector<asio::awaitable<T, Executor>> arms) const {
        range_group<Mode, std::decay_t<Handler>, Executor, T>::start(std::forward<Handler>(handler), executor,
                                                                     std::move(arms));
    }
};

/// Awaits the join of `arms` from the current coroutine. No arms: when_any throws
/// std::invalid_argument (there is no winner to report); when_all returns no values.
template <join_mode Mode, class Executor, class T>
asio::awaitable<range_value_t<Mode, T>, Executor> join_range(std::vector<asio::awaitable<T, Executor>> arms) {
    if (arms.empty()) {
        if constexpr (Mode == join_mode::first_completion) {
            throw std::invalid_argument("halt::when_any: no operations to wait for");
        } else {
            co_return range_value_t<Mode, T>();
        }
    }
    const Executor executor = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<Executor>,
                                            void(std::exception_ptr, range_value_t<Mode, T>)>(
        initiate_range_join<Mode, Executor, T>(executor), asio::use_awaitable_t<Executor>{}, std::move(arms));
}

}  // namespace halt::asio_detail
