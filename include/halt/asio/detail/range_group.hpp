#pragma once
// The engine of when_any and when_all over a run-time number of arms of one type (a std::vector of
// awaitables). As arm_group.hpp does for a pack: each arm is a co_spawn on a strand of the caller's
// executor bound to the group's source, and join_core.hpp has the shared protocol.

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <halt/asio/bind.hpp>
#include <halt/asio/detail/child_executor.hpp>
#include <halt/asio/detail/join_core.hpp>
#include <halt/source.hpp>

namespace halt::asio_detail {

template <join_mode Mode, class T>
using range_value_t = std::conditional_t<Mode == join_mode::first_completion, std::pair<std::size_t, arm_value_t<T>>,
                                         std::vector<arm_value_t<T>>>;

template <join_mode Mode, class Handler, class Executor, class T>
class range_group final
    : public join_core<Mode, range_group<Mode, Handler, Executor, T>, Handler, Executor, range_value_t<Mode, T>> {
    using base = join_core<Mode, range_group, Handler, Executor, range_value_t<Mode, T>>;
    friend base;

public:
    using value_type = range_value_t<Mode, T>;

    /// `arms` is not empty.
    static void start(Handler handler, const Executor& executor, std::vector<asio::awaitable<T, Executor>> arms) {
        auto* group = new range_group(std::move(handler), executor, arms.size());
        group->watch_parent();
        // Nothing touches `group` after the last co_spawn call: its arm may finish, and the group be
        // freed, before that call returns.
        const halt::token tok = group->source_.token();
        for (std::size_t index = 0; index < arms.size(); ++index) {
            asio::co_spawn(child_executor(executor), std::move(arms[index]),
                           halt::bind(std::cref(tok), arm_done{group, index}));
        }
    }

private:
    range_group(Handler&& handler, const Executor& executor, std::size_t count)
        : base(std::move(handler), executor, count), results_(count) {}

    struct arm_done {
        range_group* group;
        std::size_t index;
        template <class... Value>
        void operator()(std::exception_ptr error, Value&&... value) {
            group->arm_finished(index, group->results_[index], std::move(error), std::forward<Value>(value)...);
        }
    };

    value_type take_value() {
        if constexpr (Mode == join_mode::first_completion) {
            return value_type(this->winner_, std::move(*results_[this->winner_]));
        } else {
            value_type values;
            values.reserve(results_.size());
            for (auto& slot : results_) values.push_back(std::move(*slot));
            return values;
        }
    }

    std::vector<std::optional<arm_value_t<T>>> results_;  // each written by its own arm only
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
