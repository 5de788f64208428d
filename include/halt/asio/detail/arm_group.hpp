#pragma once
// The engine of when_any and when_all: runs each arm as its own coroutine, bound to one halt source,
// and completes one handler when every arm has finished.
//
// Each arm runs on a strand of the awaiting coroutine's executor (within it, if that is a strand), so
// that on an io_context with several threads the arms run in parallel while each stays serialized with
// its own cancellation. Each arm is an asio::co_spawn bound with halt::bind to the group's source, so
// cancelling the source stops every arm at its next co_await. The group never returns while an arm still runs: the
// arms may refer to the caller's frame.
//
// Race: arms finish on any thread. Each writes only its own result slot; the first to decide (when_any:
// the first to finish; when_all: the first to fail) wins one atomic exchange and alone writes `error_`.
// The arm that brings `pending_` to zero (acq_rel, so it sees every arm's writes) dispatches the
// completion to the handler's executor, which also owns the parent's cancellation slot.

#include <atomic>
#include <functional>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

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
#include <halt/asio/detail/child_executor.hpp>
#include <halt/asio/detail/emit_context.hpp>
#include <halt/source.hpp>

namespace halt::asio_detail {

namespace asio = boost::asio;

/// What an arm of type awaitable<T> contributes to a result: T, or std::monostate for void.
template <class T>
using arm_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

enum class join_mode {
    first_completion,  ///< when_any: the first arm to finish, value or exception, decides
    all_values,        ///< when_all: every value, or the first exception
};

template <join_mode Mode, class... T>
using join_value_t = std::conditional_t<Mode == join_mode::first_completion, std::variant<arm_value_t<T>...>,
                                        std::tuple<arm_value_t<T>...>>;

template <join_mode Mode, class Handler, class Executor, class... T>
class arm_group {
public:
    using value_type = join_value_t<Mode, T...>;

    static void start(Handler handler, const Executor& executor, asio::awaitable<T, Executor>... arms) {
        auto* group = new arm_group(std::move(handler), executor);
        // The parent's cancellation (the awaiting coroutine being cancelled) cancels every arm.
        if (group->parent_slot_.is_connected()) group->parent_slot_.template emplace<parent_cancel>(group);
        group->spawn(std::index_sequence_for<T...>{}, std::move(arms)...);
    }

private:
    using handler_executor_type =
        std::decay_t<decltype(asio::prefer(asio::get_associated_executor(std::declval<Handler&>(), std::declval<const Executor&>()),
                                           asio::execution::outstanding_work.tracked))>;

    arm_group(Handler&& handler, const Executor& executor)
        : handler_(std::move(handler)),
          executor_(executor),
          handler_executor_(asio::prefer(asio::get_associated_executor(handler_, executor),
                                         asio::execution::outstanding_work.tracked)),
          parent_slot_(asio::get_associated_cancellation_slot(handler_)) {}

    template <std::size_t Index>
    struct arm_done {
        arm_group* group;
        template <class... Value>
        void operator()(std::exception_ptr error, Value&&... value) {
            group->template finished<Index>(std::move(error), std::forward<Value>(value)...);
        }
    };

    struct parent_cancel {
        arm_group* group;
        void operator()(asio::cancellation_type_t type) const {
            if (type != asio::cancellation_type::none) group->source_.cancel(current_emit_reason());
        }
    };

    struct completion {
        arm_group* group;
        void operator()() const { group->complete(); }
    };

    template <std::size_t... Index>
    void spawn(std::index_sequence<Index...>, asio::awaitable<T, Executor>... arms) {
        // Nothing touches `this` after the last co_spawn call: its arm may finish, and the group be
        // freed, before that call returns.
        const halt::token tok = source_.token();
        const Executor executor = executor_;
        (asio::co_spawn(child_executor(executor), std::move(arms), halt::bind(std::cref(tok), arm_done<Index>{this})), ...);
    }

    template <std::size_t Index, class... Value>
    void finished(std::exception_ptr error, Value&&... value) {
        if constexpr (Mode == join_mode::first_completion) {
            if (!decided_.exchange(true, std::memory_order_relaxed)) {
                winner_ = Index;
                error_ = std::move(error);
                if (!error_) store<Index>(std::forward<Value>(value)...);
                source_.cancel();
            }
        } else if (error) {
            if (!decided_.exchange(true, std::memory_order_relaxed)) {
                error_ = std::move(error);
                source_.cancel();
            }
        } else {
            store<Index>(std::forward<Value>(value)...);
        }
        // Acq_rel: the last arm sees every other arm's result and decision.
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            asio::dispatch(handler_executor_, completion{this});
        }
    }

    template <std::size_t Index, class... Value>
    void store(Value&&... value) {
        if constexpr (sizeof...(Value) == 0) {
            std::get<Index>(results_).emplace();
        } else {
            std::get<Index>(results_).emplace(std::forward<Value>(value)...);
        }
    }

    value_type take_value() {
        if constexpr (Mode == join_mode::first_completion) {
            std::optional<value_type> value;
            if (!error_) {
                [&]<std::size_t... Index>(std::index_sequence<Index...>) {
                    ((winner_ == Index ? (void)value.emplace(std::in_place_index<Index>, std::move(*std::get<Index>(results_)))
                                       : void()),
                     ...);
                }(std::index_sequence_for<T...>{});
            }
            return value ? std::move(*value) : value_type();
        } else {
            if (error_) return value_type();
            return std::apply([](auto&... slot) { return value_type(std::move(*slot)...); }, results_);
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
    Executor executor_;
    handler_executor_type handler_executor_;
    asio::cancellation_slot parent_slot_;
    halt::source source_;
    std::tuple<std::optional<arm_value_t<T>>...> results_;
    std::exception_ptr error_;
    std::size_t winner_ = 0;
    std::atomic<bool> decided_{false};
    std::atomic<std::size_t> pending_{sizeof...(T)};
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
