// Tests for <halt/callback.hpp>: the non-movable, allocation-free registration (like std::stop_callback).

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include "allocation_counter.hpp"
#include "bounded_wait.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct plain_function {
    int* runs;
    void operator()() const { ++*runs; }
};

static_assert(!std::is_copy_constructible_v<halt::callback<plain_function>>);
static_assert(!std::is_move_constructible_v<halt::callback<plain_function>>);
static_assert(!std::is_copy_assignable_v<halt::callback<plain_function>>);
static_assert(!std::is_move_assignable_v<halt::callback<plain_function>>);
static_assert(std::is_constructible_v<halt::callback<plain_function>, const halt::token&, plain_function>);
static_assert(std::is_same_v<halt::token::callback_type<plain_function>, halt::callback<plain_function>>);

bool wait_for_flag(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
    return wait_until_true([&] { return flag.load(); }, limit);
}

TEST(Callback, ClassTemplateArgumentDeductionFromALambda) {
    halt::source source;
    int runs = 0;
    auto function = [&runs] { ++runs; };
    halt::callback callback{source.token(), function};
    static_assert(std::is_same_v<decltype(callback), halt::callback<decltype(function)>>,
                  "CTAD must deduce the decayed callable type");
    halt::callback inline_callback{source.token(), [&runs] { runs += 10; }};
    source.cancel();
    EXPECT_EQ(runs, 11);
}

TEST(Callback, ClassTemplateArgumentDeductionFromAnRvalue) {
    halt::source source;
    int runs = 0;
    halt::callback callback(source.token(), plain_function{&runs});
    static_assert(std::is_same_v<decltype(callback), halt::callback<plain_function>>);
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Callback, ConstructsTheCallableFromADifferentInitializer) {
    halt::source source;
    int runs = 0;
    halt::callback<std::function<void()>> callback(source.token(), [&runs] { ++runs; });
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Callback, RunsOnCancel) {
    halt::source source;
    int runs = 0;
    halt::callback callback{source.token(), [&] { ++runs; }};
    EXPECT_EQ(runs, 0);
    source.cancel();
    EXPECT_EQ(runs, 1);
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Callback, ReceivesTheReason) {
    halt::source source;
    std::error_code seen;
    halt::callback callback{source.token(), [&](std::error_code reason) { seen = reason; }};
    source.cancel(halt::errc::client_disconnected);
    EXPECT_EQ(seen, halt::errc::client_disconnected);
}

TEST(Callback, DestroyedBeforeCancelNeverRuns) {
    halt::source source;
    int runs = 0;
    {
        halt::callback callback{source.token(), [&] { ++runs; }};
    }
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(Callback, OnACanceledTokenRunsAtOnceOnTheConstructingThread) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    std::thread::id ran_on;
    std::error_code seen;
    halt::callback callback{source.token(), [&](std::error_code reason) {
                                ran_on = std::this_thread::get_id();
                                seen = reason;
                            }};
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_EQ(seen, halt::errc::shutting_down);
}

TEST(Callback, OnANoneTokenIsANoOp) {
    int runs = 0;
    {
        halt::callback callback{halt::token::none(), [&] { ++runs; }};
        halt::callback default_token_callback{halt::token(), [&] { ++runs; }};
    }
    EXPECT_EQ(runs, 0);
}

TEST(Callback, MixesWithRegistrationsInNewestFirstOrder) {
    halt::source source;
    std::vector<int> order;
    halt::registration first = source.token().on_cancel([&] { order.push_back(1); });
    halt::callback second{source.token(), [&] { order.push_back(2); }};
    halt::registration third = source.token().on_cancel([&] { order.push_back(3); });
    halt::callback fourth{source.token(), [&] { order.push_back(4); }};
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1}));
}

TEST(Callback, ThrowingCallbackIsReportedByCancel) {
    halt::source source;
    int runs = 0;
    halt::callback counting{source.token(), [&] { ++runs; }};
    halt::callback throwing{source.token(), [] { throw std::runtime_error("callback failed"); }};
    EXPECT_THROW(source.cancel(), halt::callback_errors);
    EXPECT_EQ(runs, 1);
}

TEST(Callback, AcceptsAMoveOnlyCallable) {
    halt::source source;
    int seen = 0;
    halt::callback callback{source.token(), [&seen, owned = std::make_unique<int>(5)] { seen = *owned; }};
    source.cancel();
    EXPECT_EQ(seen, 5);
}

TEST(Callback, CallbackTypeOfTheTokenIsUsable) {
    halt::source source;
    int runs = 0;
    halt::token::callback_type<plain_function> callback(source.token(), plain_function{&runs});
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Callback, ReleasesTheCallableWhenDestroyed) {
    halt::source source;
    auto tracker = std::make_shared<int>(0);
    std::weak_ptr<int> watch = tracker;
    {
        halt::callback callback{source.token(), [tracker = std::move(tracker)] { ++*tracker; }};
        EXPECT_FALSE(watch.expired());
    }
    EXPECT_TRUE(watch.expired());
}

TEST(Callback, OutlivesTheSourceAndEveryToken) {
    int runs = 0;
    auto source = std::make_unique<halt::source>();
    halt::callback callback{source->token(), [&] { ++runs; }};
    source.reset();
    EXPECT_EQ(runs, 0);
}

TEST(Callback, OutlivesTheSourceAfterItsCallbackRan) {
    // The callback ran, then every source and token went away: destroying it must not touch the freed state.
    int runs = 0;
    auto source = std::make_unique<halt::source>();
    {
        halt::callback callback{source->token(), [&] { ++runs; }};
        source->cancel();
        source.reset();
    }
    EXPECT_EQ(runs, 1);
}

TEST(Callback, OutlivesTheSourceAfterTryResetForgotIt) {
    int runs = 0;
    auto source = std::make_unique<halt::source>();
    {
        halt::callback callback{source->token(), [&] { ++runs; }};
        ASSERT_TRUE(source->try_reset());
        source.reset();
    }
    EXPECT_EQ(runs, 0);
}

TEST(Callback, DestructorOnAnotherThreadWaitsForTheRunningCallback) {
    halt::source source;
    std::atomic<bool> callback_started{false};
    std::atomic<bool> destruction_started{false};
    std::atomic<bool> destructor_returned{false};
    std::atomic<bool> callback_finished{false};
    std::atomic<bool> callback_outlived_destructor{false};
    auto body = [&] {
        callback_started = true;
        (void)wait_for_flag(destruction_started, 10s);
        // A broken destructor would return now, while we still run. A correct one cannot, so this bounded wait
        // simply expires; its length never decides whether a correct library passes.
        if (wait_for_flag(destructor_returned, 100ms)) {
            callback_outlived_destructor = true;
        }
        callback_finished = true;
    };
    std::optional<halt::callback<decltype(body)>> callback;
    callback.emplace(source.token(), body);
    std::thread canceller([&] { source.cancel(); });
    const bool started = wait_for_flag(callback_started, 10s);
    EXPECT_TRUE(started) << "cancel on the other thread never ran the callback";
    destruction_started = true;
    callback.reset();
    destructor_returned = true;
    EXPECT_TRUE(!started || callback_finished.load()) << "the destructor returned before the callback finished";
    canceller.join();
    EXPECT_FALSE(callback_outlived_destructor.load());
    EXPECT_TRUE(callback_finished.load());
}

// A callable that destroys the callback object holding it, from inside its own invocation.
struct self_destroying {
    std::optional<halt::callback<self_destroying>>* slot;
    int* runs;
    void operator()() const {
        ++*runs;
        auto* target = slot;
        target->reset();  // destroys *this: nothing after this line may touch members
    }
};

TEST(Callback, DestroyingItselfFromInsideItsCallbackDoesNotDeadlock) {
    halt::source source;
    int runs = 0;
    std::optional<halt::callback<self_destroying>> slot;
    slot.emplace(source.token(), self_destroying{&slot, &runs});
    source.cancel();
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(slot.has_value());
}

TEST(Callback, DestroyingAnotherPendingCallbackFromInsideACallbackPreventsIt) {
    halt::source source;
    int older_runs = 0;
    auto older_body = [&] { ++older_runs; };
    std::optional<halt::callback<decltype(older_body)>> older;
    older.emplace(source.token(), older_body);
    halt::callback newer{source.token(), [&] { older.reset(); }};
    source.cancel();
    EXPECT_EQ(older_runs, 0);
    EXPECT_FALSE(older.has_value());
}

TEST(Callback, AllocationFreeEvenForALargeCallable) {
    halt::source source;
    const halt::token token = source.token();
    std::array<long, 8> payload{};
    long sum = 0;
    auto body = [payload, &sum] {
        for (long value : payload) {
            sum += value;
        }
    };
    static_assert(sizeof(body) > 2 * sizeof(void*));
    { halt::callback warm{token, body}; }
    const long before = allocation_count.load();
    {
        halt::callback first{token, body};
        halt::callback second{token, [&sum] { ++sum; }};
    }
    EXPECT_EQ(allocation_count.load() - before, 0) << "halt::callback must never allocate";
}

}  // namespace
