// Tests for blocking on a token: token::wait, token::wait_for and token::wait_until.
//
// No test sleeps to pass: the cancelling thread starts after a latch, and every wait that must end is bounded.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(Wait, WaitOnANoneTokenReturnsFalseAtOnce) {
    EXPECT_FALSE(halt::token::none().wait());
    EXPECT_FALSE(halt::token().wait());
}

TEST(Wait, WaitForOnANoneTokenReturnsFalse) {
    EXPECT_FALSE(halt::token::none().wait_for(1ms));
    EXPECT_FALSE(halt::token::none().wait_for(0s));
}

TEST(Wait, WaitUntilOnANoneTokenReturnsFalse) {
    EXPECT_FALSE(halt::token::none().wait_until(clock_type::now() + 1ms));
}

TEST(Wait, WaitOnACanceledTokenReturnsTrueAtOnce) {
    halt::source source;
    source.cancel();
    EXPECT_TRUE(source.token().wait());
    EXPECT_TRUE(source.token().wait_for(0s));
    EXPECT_TRUE(source.token().wait_for(1h));
    EXPECT_TRUE(source.token().wait_until(clock_type::now() - 1s));
    EXPECT_TRUE(source.token().wait_until(clock_type::now() + 1h));
}

TEST(Wait, WaitReturnsTrueWhenCanceledFromAnotherThread) {
    halt::source source;
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        source.cancel();
    });
    about_to_wait.count_down();
    EXPECT_TRUE(source.token().wait());
    EXPECT_TRUE(source.is_cancellation_requested());
    canceller.join();
}

TEST(Wait, WaitForReturnsTrueWhenCanceledFromAnotherThread) {
    halt::source source;
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        source.cancel(halt::errc::shutting_down);
    });
    about_to_wait.count_down();
    EXPECT_TRUE(source.token().wait_for(10s));
    EXPECT_EQ(source.token().reason(), halt::errc::shutting_down);
    canceller.join();
}

TEST(Wait, WaitUntilReturnsTrueWhenCanceledFromAnotherThread) {
    halt::source source;
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        source.cancel();
    });
    about_to_wait.count_down();
    EXPECT_TRUE(source.token().wait_until(clock_type::now() + 10s));
    canceller.join();
}

TEST(Wait, WaitUntilAcceptsAnotherClock) {
    halt::source source;
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        source.cancel();
    });
    about_to_wait.count_down();
    EXPECT_TRUE(source.token().wait_until(std::chrono::system_clock::now() + 10s));
    canceller.join();
}

TEST(Wait, WaitForTimesOutWithFalse) {
    halt::source source;
    const auto start = clock_type::now();
    EXPECT_FALSE(source.token().wait_for(20ms));
    EXPECT_GE(clock_type::now() - start, 20ms) << "returned false before the timeout";
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Wait, WaitForZeroOrNegativeOnAnUncanceledTokenReturnsFalse) {
    halt::source source;
    EXPECT_FALSE(source.token().wait_for(0s));
    EXPECT_FALSE(source.token().wait_for(-1s));
}

TEST(Wait, WaitUntilTimesOutWithFalse) {
    halt::source source;
    const auto deadline = clock_type::now() + 20ms;
    EXPECT_FALSE(source.token().wait_until(deadline));
    EXPECT_GE(clock_type::now(), deadline) << "returned false before the time point";
}

TEST(Wait, WaitUntilInThePastReturnsFalse) {
    halt::source source;
    EXPECT_FALSE(source.token().wait_until(clock_type::now() - 1s));
    EXPECT_FALSE(source.token().wait_until(clock_type::time_point::min()));
}

TEST(Wait, WaitForWithOtherDurationTypes) {
    halt::source source;
    EXPECT_FALSE(source.token().wait_for(std::chrono::microseconds(500)));
    EXPECT_FALSE(source.token().wait_for(std::chrono::duration<double, std::milli>(1.5)));
    source.cancel();
    EXPECT_TRUE(source.token().wait_for(std::chrono::duration<double>(0.001)));
}

TEST(Wait, WaitForAHugeDurationIsCanceled) {
    // A timeout that overflows when added to now() must still behave as "very long", not as "already expired".
    halt::source source;
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        source.cancel();
    });
    about_to_wait.count_down();
    EXPECT_TRUE(source.token().wait_for(std::chrono::hours::max()));
    canceller.join();
}

TEST(Wait, WaitReturnsWhenADeadlineFires) {
    halt::source source;
    source.cancel_after(1ms);
    EXPECT_TRUE(source.token().wait_for(10s));
    EXPECT_TRUE(source.token().wait());
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

TEST(Wait, WaitOnALinkedSourceReturnsWhenTheParentIsCanceled) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    std::latch about_to_wait(1);
    std::thread canceller([&] {
        about_to_wait.wait();
        parent.cancel(halt::errc::client_disconnected);
    });
    about_to_wait.count_down();
    EXPECT_TRUE(linked.token().wait_for(10s));
    EXPECT_EQ(linked.token().reason(), halt::errc::client_disconnected);
    canceller.join();
}

TEST(Wait, EveryWaiterWakes) {
    constexpr int waiter_count = 4;
    halt::source source;
    const halt::token token = source.token();
    std::latch all_started(waiter_count);
    std::atomic<int> woke_canceled{0};
    std::vector<std::thread> waiters;
    for (int index = 0; index < waiter_count; ++index) {
        waiters.emplace_back([&, index] {
            all_started.count_down();
            const bool canceled = index % 2 == 0 ? token.wait() : token.wait_for(10s);
            if (canceled) {
                woke_canceled.fetch_add(1);
            }
        });
    }
    all_started.wait();
    source.cancel();
    for (std::thread& waiter : waiters) {
        waiter.join();
    }
    EXPECT_EQ(woke_canceled.load(), waiter_count);
}

TEST(Wait, WaiterWakesBeforeCallbacksFinish) {
    // As in .NET, the state reads cancelled (and waiters wake) before the callbacks run, so a callback that waits for
    // a waiter does not hold it up.
    halt::source source;
    std::atomic<bool> waiter_done{false};
    std::atomic<bool> callback_saw_waiter_done{false};
    halt::registration registration = source.token().on_cancel([&] {
        const auto give_up = clock_type::now() + 10s;
        while (!waiter_done.load() && clock_type::now() < give_up) {
            std::this_thread::yield();
        }
        callback_saw_waiter_done = waiter_done.load();
    });
    std::latch about_to_wait(1);
    std::thread waiter([&] {
        about_to_wait.count_down();
        EXPECT_TRUE(source.token().wait_for(20s));
        waiter_done = true;
    });
    about_to_wait.wait();
    source.cancel();
    waiter.join();
    EXPECT_TRUE(callback_saw_waiter_done.load()) << "wait() returned only after the callbacks finished";
}

TEST(Wait, WaitFromInsideACallbackReturnsTrue) {
    halt::source source;
    bool inside = false;
    halt::registration registration = source.token().on_cancel([&] { inside = source.token().wait(); });
    source.cancel();
    EXPECT_TRUE(inside);
}

TEST(Wait, RepeatedShortWaitsThenCancel) {
    halt::source source;
    for (int round = 0; round < 5; ++round) {
        EXPECT_FALSE(source.token().wait_for(1ms));
    }
    source.cancel();
    EXPECT_TRUE(source.token().wait_for(1ms));
}

}  // namespace
