#pragma once
// The engine of when_any and when_all over a pack of arms: runs each arm as its own coroutine, bound
// to one halt source, and completes one handler when every arm has finished (join_core.hpp has the
// shared protocol).
//
// Each arm runs on a strand of the awaiting coroutine's executor (within it, if that is a strand), so
// that on an io_context with several threads the arms run in parallel while each stays serialized with
// its own cancellation. Each arm is an asio::co_spawn bound with halt::bind to the group's source, so
// cancelling the source stops every arm at its next co_await. The group never returns while an arm
// still runs: the arms may refer to the caller's frame.

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <halt/asio/bind.hpp>
#include <halt/asio/detail/child_executor.hpp>
#include <halt/asio/detail/join_core.hpp>
#include <halt/source.hpp>

namespace halt::asio_detail {

namespace asio = boost::asio;

template <join_mode Mode, class... T>
using join_value_t = std::conditional_t<Mode == join_mode::first_completion, std::variant<arm_value_t<T>...>,
                                        std::tuple<arm_value_t<T>...>>;

template <join_mode Mode, class Handler, class Executor, class... T>
class arm_group final
    : public join_core<Mode, arm_group<Mode, Handler, Executor, T...>, Handler, Executor, join_value_t<Mode, T...>> {
    using base = join_core<Mode, arm_group, Handler, Executor, join_value_t<Mode, T...>>;
    friend base;

public:
    using value_type = join_value_t<Mode, T...>;

    static void start(Handler handler, const Executor& executor, asio::awaitable<T, Executor>... arms) {
        auto* group = new arm_group(std::move(handler), executor);
        group->watch_parent();
        group->spawn(executor, std::index_sequence_for<T...>{}, std::move(arms)...);
    }

private:
    arm_group(Handler&& handler, const Executor& executor) : base(std::move(handler), executor, sizeof...(T)) {}

    template <std::size_t Index>
    struct arm_done {
        arm_group* group;
        template <class... Value>
        void operator()(std::exception_ptr error, Value&&... value) {
            group->arm_finished(Index, std::get<Index>(group->results_), std::move(error), std::forward<Value>(value)...);
        }
    };

    template <std::size_t... Index>
    void spawn(const Executor& executor, std::index_sequence<Index...>, asio::awaitable<T, Executor>... arms) {
        // Nothing touches `this` after the last co_spawn call: its arm may finish, and the group be
        // freed, before that call returns.
        const halt::token tok = this->source_.token();
        (asio::co_spawn(child_executor(executor), std::move(arms), halt::bind(std::cref(tok), arm_done<Index>{this})), ...);
    }

    value_type take_value() {
        if constexpr (Mode == join_mode::first_completion) {
            std::optional<value_type> value;
            [&]<std::size_t... Index>(std::index_sequence<Index...>) {
                ((this->winner_ == Index
                      ? (void)value.emplace(std::in_place_index<Index>, std::move(*std::get<Index>(results_)))
                      : void()),
                 ...);
            }(std::index_sequence_for<T...>{});
            return std::move(*value);
        } else {
            return std::apply([](auto&... slot) { return value_type(std::move(*slot)...); }, results_);
        }
    }

    std::tuple<std::optional<arm_value_t<T>>...> results_;
};

template <join_mode Mode, class Executor, class... T>
struct initiate_join {
    // A constructor, not aggregate initialization: g++ 12 destroys an aggregate temporary created in a
    // co_await expression twice (the executor's reference count would drop once too often).
    explicit initiate_join(const Executor& ex) : executor(ex) {}

    Executor executor;

    template <class Handler>
    void operator()(Handler&& handler, asio::awaitable<T, Executor>... arms) const {
        arm_group<Mode, std::decay_t<Handler>, Executor, T...>::start(std::forward<Handler>(handler), executor,
                                                                       std::move(arms)...);
    }
};

/// Awaits the join of `arms` from the current coroutine.
template <join_mode Mode, class Executor, class... T>
asio::awaitable<join_value_t<Mode, T...>, Executor> join(asio::awaitable<T, Executor>... arms) {
    static_assert(sizeof...(T) > 0, "halt::when_any / when_all need at least one operation");
    const Executor executor = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<Executor>,
                                            void(std::exception_ptr, join_value_t<Mode, T...>)>(
        initiate_join<Mode, Executor, T...>(executor), asio::use_awaitable_t<Executor>{}, std::move(arms)...);
}

}  // namespace halt::asio_detail
