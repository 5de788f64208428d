// Tests for <halt/registration.hpp>: the movable RAII handle returned by token::on_cancel.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include "allocation_counter.hpp"
#include "bounded_wait.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

static_assert(std::is_nothrow_default_constructible_v<halt::registration>);
static_assert(std::is_nothrow_move_constructible_v<halt::registration>);
static_assert(std::is_nothrow_move_assignable_v<halt::registration>);
static_assert(!std::is_copy_constructible_v<halt::registration>);
static_assert(!std::is_copy_assignable_v<halt::registration>);
static_assert(noexcept(std::declval<halt::registration&>().unregister()));

// Waits for a flag with an upper bound, so a broken library fails the test instead of hanging it.
bool wait_for_flag(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
    return wait_until_true([&] { return flag.load(); }, limit);
}

TEST(Registration, DefaultConstructedIsEmptyAndHarmless) {
    halt::registration empty;
    (void)empty.unregister();
    halt::registration other;
    other = std::move(empty);
}

TEST(Registration, UnregisterBeforeCancelReturnsTrueAndTheCallbackNeverRuns) {
    halt::source source;
    int runs = 0;
    halt::registration registration = source.token().on_cancel([&] { ++runs; });
    EXPECT_TRUE(registration.unregister());
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, UnregisterAfterCancelReturnsFalse) {
    halt::source source;
    int runs = 0;
    halt::registration registration = source.token().on_cancel([&] { ++runs; });
    source.cancel();
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(registration.unregister());
    EXPECT_EQ(runs, 1);
}

TEST(Registration, UnregisterOfACallbackThatRanAtOnceReturnsFalse) {
    halt::source source;
    source.cancel();
    int runs = 0;
    halt::registration registration = source.token().on_cancel([&] { ++runs; });
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(registration.unregister());
}

TEST(Registration, UnregisterLeavesOtherCallbacksAlone) {
    halt::source source;
    std::vector<int> order;
    halt::registration first = source.token().on_cancel([&] { order.push_back(1); });
    halt::registration second = source.token().on_cancel([&] { order.push_back(2); });
    halt::registration third = source.token().on_cancel([&] { order.push_back(3); });
    EXPECT_TRUE(second.unregister());
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{3, 1}));
}

TEST(Registration, DestroyBeforeCancelMeansTheCallbackNeverRuns) {
    halt::source source;
    int runs = 0;
    {
        halt::registration registration = source.token().on_cancel([&] { ++runs; });
    }
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, MovedRegistrationRunsItsCallbackOnce) {
    halt::source source;
    int runs = 0;
    halt::registration original = source.token().on_cancel([&] { ++runs; });
    halt::registration moved = std::move(original);
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Registration, MovedFromRegistrationDoesNothing) {
    halt::source source;
    int runs = 0;
    halt::registration original = source.token().on_cancel([&] { ++runs; });
    halt::registration moved = std::move(original);
    // Neither unregistering nor destroying the moved-from handle may touch the callback it gave away.
    (void)original.unregister();  // NOLINT(bugprone-use-after-move): a moved-from handle must be usable
    { halt::registration sink = std::move(original); }  // NOLINT(bugprone-use-after-move)
    source.cancel();
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(moved.unregister());
}

TEST(Registration, MovedRegistrationCanStillUnregister) {
    halt::source source;
    int runs = 0;
    halt::registration original = source.token().on_cancel([&] { ++runs; });
    halt::registration moved = std::move(original);
    EXPECT_TRUE(moved.unregister());
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, MoveAssignmentReleasesThePreviousCallback) {
    halt::source source;
    int first_runs = 0;
    int second_runs = 0;
    halt::registration target = source.token().on_cancel([&] { ++first_runs; });
    halt::registration other = source.token().on_cancel([&] { ++second_runs; });
    target = std::move(other);
    source.cancel();
    EXPECT_EQ(first_runs, 0) << "the overwritten registration must be unregistered";
    EXPECT_EQ(second_runs, 1);
}

TEST(Registration, MoveAssignmentAcrossSources) {
    halt::source first;
    halt::source second;
    int first_runs = 0;
    int second_runs = 0;
    halt::registration target = first.token().on_cancel([&] { ++first_runs; });
    target = second.token().on_cancel([&] { ++second_runs; });
    first.cancel();
    second.cancel();
    EXPECT_EQ(first_runs, 0);
    EXPECT_EQ(second_runs, 1);
}

TEST(Registration, SurvivesBeingMovedAroundInAVector) {
    halt::source source;
    std::vector<int> runs(100, 0);
    std::vector<halt::registration> registrations;  // no reserve: reallocation moves every handle
    for (std::size_t index = 0; index < runs.size(); ++index) {
        registrations.push_back(source.token().on_cancel([&runs, index] { ++runs[index]; }));
    }
    registrations.erase(registrations.begin() + 10);  // destroys one handle: that callback must not run
    source.cancel();
    for (std::size_t index = 0; index < runs.size(); ++index) {
        EXPECT_EQ(runs[index], index == 10 ? 0 : 1) << index;
    }
}

TEST(Registration, OutlivesTheSourceAndEveryToken) {
    int runs = 0;
    halt::registration registration;
    {
        halt::source source;
        registration = source.token().on_cancel([&] { ++runs; });
    }
    // The state's last source and token are gone; the handle must still be safe to use and destroy.
    (void)registration.unregister();
    registration = halt::registration();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, OutlivesTheSourceAfterItsCallbackRan) {
    // The callback ran, then every source and token went away: destroying the handle must not touch the freed state.
    int runs = 0;
    halt::registration registration;
    {
        halt::source source;
        registration = source.token().on_cancel([&] { ++runs; });
        source.cancel();
    }
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(registration.unregister());
    registration = halt::registration();
}

TEST(Registration, MovedAfterItsCallbackRanAndTheSourceIsGone) {
    int runs = 0;
    halt::registration registration;
    {
        halt::source source;
        registration = source.token().on_cancel([&] { ++runs; });
        source.cancel();
    }
    halt::registration moved = std::move(registration);
    EXPECT_EQ(runs, 1);
}

TEST(Registration, OutlivesTheSourceAfterTryResetForgotIt) {
    int runs = 0;
    halt::registration registration;
    {
        halt::source source;
        registration = source.token().on_cancel([&] { ++runs; });
        ASSERT_TRUE(source.try_reset());
    }
    registration = halt::registration();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, DestructorOnAnotherThreadWaitsForTheRunningCallback) {
    halt::source source;
    std::atomic<bool> callback_started{false};
    std::atomic<bool> destruction_started{false};
    std::atomic<bool> destructor_returned{false};
    std::atomic<bool> callback_finished{false};
    std::atomic<bool> callback_outlived_destructor{false};
    std::optional<halt::registration> registration;
    registration.emplace(source.token().on_cancel([&] {
        callback_started = true;
        (void)wait_for_flag(destruction_started, 10s);
        // A broken destructor would return now, while we still run. A correct one cannot, so this bounded wait
        // simply expires; its length never decides whether a correct library passes.
        if (wait_for_flag(destructor_returned, 100ms)) {
            callback_outlived_destructor = true;
        }
        callback_finished = true;
    }));
    std::thread canceller([&] { source.cancel(); });
    const bool started = wait_for_flag(callback_started, 10s);
    EXPECT_TRUE(started) << "cancel on the other thread never ran the callback";
    destruction_started = true;
    registration.reset();
    destructor_returned = true;
    EXPECT_TRUE(!started || callback_finished.load()) << "the destructor returned before the callback finished";
    canceller.join();
    EXPECT_FALSE(callback_outlived_destructor.load());
    EXPECT_TRUE(callback_finished.load());
}

TEST(Registration, UnregisterNeverWaitsForTheRunningCallback) {
    halt::source source;
    std::atomic<bool> callback_started{false};
    std::atomic<bool> release_callback{false};
    std::atomic<bool> released_in_time{false};
    halt::registration registration = source.token().on_cancel([&] {
        callback_started = true;
        // Only a returned unregister() releases us; a blocking one would leave this wait to expire.
        released_in_time = wait_for_flag(release_callback, 10s);
    });
    std::thread canceller([&] { source.cancel(); });
    EXPECT_TRUE(wait_for_flag(callback_started, 10s));
    EXPECT_FALSE(registration.unregister()) << "the callback is running, so it cannot be prevented";
    release_callback = true;
    canceller.join();
    EXPECT_TRUE(released_in_time.load()) << "unregister() waited for the running callback";
}

TEST(Registration, DestroyingItselfFromInsideItsCallbackDoesNotDeadlock) {
    halt::source source;
    int runs = 0;
    std::optional<halt::registration> slot;
    slot.emplace(source.token().on_cancel([&slot, &runs] {
        ++runs;
        slot.reset();  // destroys this very callable: nothing after this line may touch captures
    }));
    source.cancel();
    EXPECT_EQ(runs, 1);
    EXPECT_FALSE(slot.has_value());
}

TEST(Registration, UnregisteringItselfFromInsideItsCallbackReturnsFalse) {
    halt::source source;
    std::optional<bool> result;
    std::optional<halt::registration> slot;
    slot.emplace(source.token().on_cancel([&] { result = slot->unregister(); }));
    source.cancel();
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(*result) << "the callback is running, so it will not be prevented";
}

TEST(Registration, DestroyingAPendingRegistrationFromInsideAnotherCallbackPreventsIt) {
    halt::source source;
    int older_runs = 0;
    int newer_runs = 0;
    std::optional<halt::registration> older;
    older.emplace(source.token().on_cancel([&] { ++older_runs; }));
    // Newest runs first, so this one destroys a registration that has not run yet.
    halt::registration newer = source.token().on_cancel([&] {
        ++newer_runs;
        older.reset();
    });
    source.cancel();
    EXPECT_EQ(newer_runs, 1);
    EXPECT_EQ(older_runs, 0);
}

TEST(Registration, UnregisteringAPendingRegistrationFromInsideAnotherCallbackReturnsTrue) {
    halt::source source;
    int older_runs = 0;
    std::optional<bool> result;
    halt::registration older = source.token().on_cancel([&] { ++older_runs; });
    halt::registration newer = source.token().on_cancel([&] { result = older.unregister(); });
    source.cancel();
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(*result);
    EXPECT_EQ(older_runs, 0);
}

TEST(Registration, DestroyingAnAlreadyRunRegistrationFromInsideAnotherCallback) {
    halt::source source;
    int newer_runs = 0;
    std::optional<halt::registration> newer;
    halt::registration older = source.token().on_cancel([&] { newer.reset(); });
    newer.emplace(source.token().on_cancel([&] { ++newer_runs; }));
    source.cancel();
    EXPECT_EQ(newer_runs, 1);
    EXPECT_FALSE(newer.has_value());
}

TEST(Registration, DestroyingEveryRegistrationFromInsideTheFirstCallback) {
    halt::source source;
    int runs = 0;
    std::vector<halt::registration> others;
    for (int index = 0; index < 10; ++index) {
        others.push_back(source.token().on_cancel([&] { ++runs; }));
    }
    halt::registration clearer = source.token().on_cancel([&] { others.clear(); });
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(Registration, AllocationFreeForACallableOfTwoPointers) {
    halt::source source;
    const halt::token token = source.token();
    int first = 0;
    int second = 0;
    auto callable = [a = &first, b = &second] { ++*a; ++*b; };
    static_assert(sizeof(callable) <= 2 * sizeof(void*));
    // Warm up once so lazily created per-state or per-thread structures are not counted.
    { halt::registration warm = token.on_cancel(callable); }
    const long before = allocation_count.load();
    {
        halt::registration registration = token.on_cancel(callable);
        (void)registration.unregister();
    }
    { halt::registration registration = token.on_cancel(callable); }
    const long after = allocation_count.load();
    EXPECT_EQ(after - before, 0) << "on_cancel + destroy of a two-pointer callable allocated";
}

TEST(Registration, AllocationFreeForAnEmptyCallable) {
    halt::source source;
    const halt::token token = source.token();
    { halt::registration warm = token.on_cancel([] {}); }
    const long before = allocation_count.load();
    { halt::registration registration = token.on_cancel([] {}); }
    EXPECT_EQ(allocation_count.load() - before, 0);
}

TEST(Registration, LargeCallableIsReleasedWithoutLeak) {
    // Bigger than the inline buffer: LeakSanitizer checks the storage is returned on every path.
    halt::source source;
    std::array<void*, 8> payload{};
    int runs = 0;
    { halt::registration destroyed = source.token().on_cancel([payload, &runs] { runs += payload[0] ? 1 : 2; }); }
    halt::registration unregistered = source.token().on_cancel([payload, &runs] { runs += payload[0] ? 1 : 4; });
    EXPECT_TRUE(unregistered.unregister());
    halt::registration ran = source.token().on_cancel([payload, &runs] { runs += payload[0] ? 1 : 8; });
    source.cancel();
    EXPECT_EQ(runs, 8);
}

}  // namespace
