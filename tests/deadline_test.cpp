// Tests for deadlines: source::cancel_after, source::cancel_at and token::deadline.
//
// Timing rule: a deadline test asserts only what cannot flake on a slow or loaded machine: "cancelled within a
// generous wait" for near deadlines, and "not cancelled yet" only for deadlines an hour away.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(Deadline, NoDeadlineByDefault) {
    halt::source source;
    EXPECT_FALSE(source.token().deadline().has_value());
    EXPECT_FALSE(halt::token::none().deadline().has_value());
}

TEST(Deadline, CancelAtIsReportedExactly) {
    halt::source source;
    const auto deadline = clock_type::now() + 1h;
    source.cancel_at(deadline);
    ASSERT_TRUE(source.token().deadline().has_value());
    EXPECT_EQ(*source.token().deadline(), deadline);
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, CancelAfterIsReportedRelativeToNow) {
    halt::source source;
    const auto before = clock_type::now();
    source.cancel_after(1h);
    const auto after = clock_type::now();
    const std::optional<clock_type::time_point> deadline = source.token().deadline();
    ASSERT_TRUE(deadline.has_value());
    EXPECT_GE(*deadline, before + 1h);
    EXPECT_LE(*deadline, after + 1h);
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, CancelAfterAcceptsOtherDurationTypes) {
    halt::source source;
    const auto before = clock_type::now();
    source.cancel_after(std::chrono::minutes(90));
    ASSERT_TRUE(source.token().deadline().has_value());
    EXPECT_GE(*source.token().deadline(), before + 90min);
    source.cancel_after(std::chrono::duration<long long, std::milli>(7'200'000));
    EXPECT_GE(*source.token().deadline(), before + 2h);
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, CancelAfterAcceptsAFloatingPointDuration) {
    halt::source source;
    const auto before = clock_type::now();
    source.cancel_after(std::chrono::duration<double>(3600.5));
    ASSERT_TRUE(source.token().deadline().has_value());
    EXPECT_GE(*source.token().deadline(), before + 1h);
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, EveryTokenCopySeesTheDeadline) {
    halt::source source;
    const halt::token token = source.token();
    const halt::source copy = source;
    const auto deadline = clock_type::now() + 1h;
    source.cancel_at(deadline);
    EXPECT_EQ(token.deadline(), std::optional<clock_type::time_point>(deadline));
    EXPECT_EQ(copy.token().deadline(), std::optional<clock_type::time_point>(deadline));
}

TEST(Deadline, LaterCallMovesTheDeadlineLater) {
    halt::source source;
    const auto now = clock_type::now();
    source.cancel_at(now + 1h);
    source.cancel_at(now + 2h);
    ASSERT_TRUE(source.token().deadline().has_value());
    EXPECT_EQ(*source.token().deadline(), now + 2h);
}

TEST(Deadline, LaterCallMovesTheDeadlineEarlier) {
    halt::source source;
    const auto now = clock_type::now();
    source.cancel_at(now + 2h);
    source.cancel_at(now + 1h);
    ASSERT_TRUE(source.token().deadline().has_value());
    EXPECT_EQ(*source.token().deadline(), now + 1h);
}

TEST(Deadline, MovingAFarDeadlineNearCancels) {
    halt::source source;
    source.cancel_after(1h);
    source.cancel_after(1ms);
    EXPECT_TRUE(source.token().wait_for(10s));
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, PastDeadlineCancelsAtOnce) {
    halt::source source;
    int runs = 0;
    std::thread::id ran_on;
    halt::registration registration = source.token().on_cancel([&](std::error_code reason) {
        ++runs;
        ran_on = std::this_thread::get_id();
        EXPECT_EQ(reason, halt::errc::deadline_exceeded);
    });
    source.cancel_at(clock_type::now() - 1s);
    EXPECT_TRUE(source.is_cancellation_requested()) << "a past deadline cancels before cancel_at returns";
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(Deadline, NegativeDurationCancelsAtOnce) {
    halt::source source;
    source.cancel_after(-1s);
    EXPECT_TRUE(source.is_cancellation_requested());
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, MinimumTimePointCancelsAtOnce) {
    halt::source source;
    source.cancel_at(clock_type::time_point::min());
    EXPECT_TRUE(source.is_cancellation_requested());
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, ZeroDurationCancelsSoon) {
    halt::source source;
    source.cancel_after(0s);
    EXPECT_TRUE(source.token().wait_for(10s));
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, NearDeadlineCancelsOnTheTimerThreadWithDeadlineExceeded) {
    halt::source source;
    std::atomic<bool> ran{false};
    std::atomic<bool> ran_on_test_thread{false};
    std::atomic<bool> reason_was_deadline{false};
    const std::thread::id test_thread = std::this_thread::get_id();
    halt::registration registration = source.token().on_cancel([&](std::error_code reason) {
        ran_on_test_thread = std::this_thread::get_id() == test_thread;
        reason_was_deadline = reason == halt::errc::deadline_exceeded;
        ran = true;
    });
    const auto start = clock_type::now();
    source.cancel_after(5ms);
    ASSERT_TRUE(source.token().wait_for(10s)) << "the deadline never fired";
    EXPECT_GE(clock_type::now(), start + 5ms) << "fired before its deadline";
    // wait_for may return as soon as the state is cancelled, before the timer thread finished our callback.
    const auto give_up = clock_type::now() + 10s;
    while (!ran.load() && clock_type::now() < give_up) {
        std::this_thread::yield();
    }
    EXPECT_TRUE(ran.load());
    EXPECT_FALSE(ran_on_test_thread.load());
    EXPECT_TRUE(reason_was_deadline.load());
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, FarDeadlineDoesNotCancel) {
    halt::source source;
    source.cancel_after(1h);
    EXPECT_FALSE(source.token().wait_for(20ms));
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, MaxTimePointDisarms) {
    halt::source source;
    source.cancel_after(1h);
    ASSERT_TRUE(source.token().deadline().has_value());
    source.cancel_at(clock_type::time_point::max());
    EXPECT_FALSE(source.token().deadline().has_value());
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, MaxTimePointOnAFreshSourceIsNoDeadline) {
    halt::source source;
    source.cancel_at(clock_type::time_point::max());
    EXPECT_FALSE(source.token().deadline().has_value());
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Deadline, DisarmedSourceCanBeArmedAgain) {
    halt::source source;
    source.cancel_after(1h);
    source.cancel_at(clock_type::time_point::max());
    source.cancel_after(1ms);
    EXPECT_TRUE(source.token().wait_for(10s));
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Deadline, ManualCancelBeforeTheDeadlineKeepsItsReason) {
    halt::source source;
    source.cancel_after(1h);
    EXPECT_TRUE(source.cancel(halt::errc::shutting_down));
    EXPECT_EQ(source.token().reason(), halt::errc::shutting_down);
}

TEST(Deadline, DeadlineAfterCancelChangesNothing) {
    halt::source source;
    source.cancel(halt::errc::client_disconnected);
    source.cancel_at(clock_type::now() - 1s);
    source.cancel_after(1ms);
    EXPECT_EQ(source.token().reason(), halt::errc::client_disconnected);
}

TEST(Deadline, DestroyingSourcesWithPendingDeadlinesIsSafe) {
    for (int round = 0; round < 1000; ++round) {
        halt::source source;
        source.cancel_after(1h);
    }
    // A near deadline on a source destroyed before it fires: the timer must not touch the freed state.
    for (int round = 0; round < 100; ++round) {
        halt::source source;
        source.cancel_after(std::chrono::microseconds(round * 10));
    }
    // Give the timer something to fire afterwards, proving the service still works.
    halt::source survivor;
    survivor.cancel_after(1ms);
    EXPECT_TRUE(survivor.token().wait_for(10s));
}

TEST(Deadline, TokenOutlivesASourceWithAPendingDeadline) {
    halt::token token;
    {
        halt::source source;
        source.cancel_after(1ms);
        token = source.token();
    }
    // Whether the orphaned deadline still fires is not specified; touching the token must be safe either way.
    (void)token.wait_for(50ms);
    (void)token.is_cancellation_requested();
}

TEST(Deadline, ManyDeadlinesAllFire) {
    constexpr int count = 200;
    std::vector<halt::source> sources(count);
    for (int index = 0; index < count; ++index) {
        sources[index].cancel_after(std::chrono::microseconds((count - index) * 50));
    }
    for (int index = 0; index < count; ++index) {
        ASSERT_TRUE(sources[index].token().wait_for(10s)) << index;
        EXPECT_EQ(sources[index].token().reason(), halt::errc::deadline_exceeded);
    }
}

TEST(Deadline, DeadlinesFireInOrder) {
    constexpr int count = 20;
    // Register out of order, all far enough ahead that registration ends before the first fires.
    const auto base = clock_type::now() + 300ms;
    std::vector<halt::source> sources(count);
    std::mutex mutex;
    std::vector<int> fired;
    std::vector<halt::registration> registrations;
    for (int index = 0; index < count; ++index) {
        registrations.push_back(sources[index].token().on_cancel([&, index] {
            std::lock_guard lock(mutex);
            fired.push_back(index);
        }));
    }
    for (int step = 0; step < count; ++step) {
        const int index = (step * 7) % count;  // 7 is coprime with 20: visits every index once
        sources[index].cancel_at(base + std::chrono::milliseconds(index));
    }
    if (clock_type::now() >= base) {
        GTEST_SKIP() << "machine too slow: registration overlapped the first deadline";
    }
    for (const halt::source& source : sources) {
        ASSERT_TRUE(source.token().wait_for(10s));
    }
    // The last callback may still be running on the timer thread after its state reads cancelled.
    const auto give_up = clock_type::now() + 10s;
    for (;;) {
        std::lock_guard lock(mutex);
        if (fired.size() == static_cast<std::size_t>(count) || clock_type::now() > give_up) {
            break;
        }
    }
    std::lock_guard lock(mutex);
    ASSERT_EQ(fired.size(), static_cast<std::size_t>(count));
    EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end())) << "deadlines fired out of order";
}

TEST(Deadline, TimerServiceSurvivesManyShortLivedSources) {
    for (int round = 0; round < 50; ++round) {
        halt::source source;
        source.cancel_after(std::chrono::microseconds(100));
        ASSERT_TRUE(source.token().wait_for(10s)) << round;
    }
}

}  // namespace
