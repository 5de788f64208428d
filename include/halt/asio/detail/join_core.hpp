#pragma once
// What when_any and when_all share, whether their arms are a pack (arm_group.hpp) or a vector
// (range_group.hpp): the caller's handler and executor, the source that cancels every arm, the
// parent's cancellation slot, the one decision (the winner, or the first failure), and the count of
// arms still running. The last arm to finish dispatches the completion to the caller's executor, which
// also owns the parent's slot.
//
// Race: arms finish on any thread. Each writes only its own result slot; the first to decide wins one
// atomic exchange (in arm_finished()) and alone writes `error_` and `winner_`. The arm that
// brings `pending_` to zero (acq_rel, so it sees every arm's writes) completes the group.

#include <atomic>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

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

/// The base of a heap-allocated group `Derived`, which provides `Value take_value()` (called once,
/// after every arm finished, only when no arm's exception decided) and frees itself through complete().
template <join_mode Mode, class Derived, class Handler, class Executor, class Value>
class join_core {
protected:
    join_core(Handler&& handler, const Executor& executor, std::size_t arms)
        : handler_(std::move(handler)),
          handler_executor_(asio::prefer(asio::get_associated_executor(handler_, executor),
                                         asio::execution::outstanding_work.tracked)),
          parent_slot_(asio::get_associated_cancellation_slot(handler_)),
          pending_(arms) {}

    /// The parent's cancellation (the awaiting coroutine being cancelled) cancels every arm.
    void watch_parent() {
        if (parent_slot_.is_connected()) parent_slot_.template emplace<parent_cancel>(this);
    }

    /// Called once by each arm with its outcome and its own result slot (a std::optional): stores the
    /// value, lets the outcome decide if it is the first that may (when_any: any outcome; when_all: a
    /// failure), which cancels the other arms, and completes the group after the last arm.
    template <class Slot, class... Values>
    void arm_finished(std::size_t index, Slot& slot, std::exception_ptr error, Values&&... values) {
        if (!error) slot.emplace(std::forward<Values>(values)...);
        if ((error || Mode == join_mode::first_completion) && !decided_.exchange(true, std::memory_order_relaxed)) {
            winner_ = index;
            error_ = std::move(error);
            source_.cancel();
        }
        // Acq_rel: the last arm sees every other arm's result and decision.
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            asio::dispatch(handler_executor_, completion{this});
        }
    }

    halt::source source_;
    std::size_t winner_ = 0;  // written by the deciding arm only; read by take_value()

private:
    using handler_executor_type =
        std::decay_t<decltype(asio::prefer(asio::get_associated_executor(std::declval<Handler&>(), std::declval<const Executor&>()),
                                           asio::execution::outstanding_work.tracked))>;

    struct parent_cancel {
        join_core* group;
        void operator()(asio::cancellation_type_t type) const {
            if (type != asio::cancellation_type::none) group->source_.cancel(current_emit_reason());
        }
    };

    struct completion {
        join_core* group;
        void operator()() const { group->complete(); }
    };

    void complete() {
        if (parent_slot_.is_connected()) parent_slot_.clear();
        Handler handler(std::move(handler_));
        std::exception_ptr error = std::move(error_);
        Value value = error ? Value() : static_cast<Derived*>(this)->take_value();
        delete static_cast<Derived*>(this);
        std::move(handler)(std::move(error), std::move(value));
    }

    Handler handler_;
    handler_executor_type handler_executor_;
    asio::cancellation_slot parent_slot_;
    std::exception_ptr error_;
    std::atomic<bool> decided_{false};
    std::atomic<std::size_t> pending_;
};

}  // namespace halt::asio_detail
