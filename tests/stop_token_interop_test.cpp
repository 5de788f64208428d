// Tests for <halt/stop_token_interop.hpp>: halt tokens as std::stop_tokens, and std::stop_tokens (std::jthread's
// included) as parents of halt sources.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <optional>
#include <stop_token>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

namespace {

using namespace std::chrono_literals;

static_assert(std::is_same_v<decltype(halt::to_stop_token(std::declval<const halt::token&>())), std::stop_token>);

// Blocks until the std::stop_token is stopped or the limit passes; true if stopped.
bool wait_for_stop(const std::stop_token& stop_token, std::chrono::milliseconds limit) {
    std::mutex mutex;
    std::condition_variable_any condition;
    std::unique_lock lock(mutex);
    (void)condition.wait_for(lock, stop_token, limit, [] { return false; });
    return stop_token.stop_requested();
}

TEST(StopTokenInterop, StopTokenIsNotStoppedBeforeCancel) {
    halt::source source;
    const std::stop_token stop_token = halt::to_stop_token(source.token());
    EXPECT_FALSE(stop_token.stop_requested());
    EXPECT_TRUE(stop_token.stop_possible());
}

TEST(StopTokenInterop, StopTokenIsStoppedWhenTheHaltTokenIsCanceled) {
    halt::source source;
    const std::stop_token stop_token = halt::to_stop_token(source.token());
    source.cancel();
    EXPECT_TRUE(stop_token.stop_requested());
}

TEST(StopTokenInterop, StopTokenIsStoppedOnceCallbacksSeeTheCancel) {
    // The bridge exists before the cancel; a callback that hands the std::stop_token to std-based code must find it
    // stopped, as the halt token already reads cancelled.
    halt::source source;
    const halt::token token = source.token();
    const std::stop_token early = halt::to_stop_token(token);
    std::optional<bool> stopped_inside;
    halt::registration registration =
        token.on_cancel([&] { stopped_inside = halt::to_stop_token(token).stop_requested(); });
    source.cancel();
    ASSERT_TRUE(stopped_inside.has_value());
    EXPECT_TRUE(*stopped_inside);
    EXPECT_TRUE(early.stop_requested());
}

TEST(StopTokenInterop, StopCallbackRunsOnCancel) {
    halt::source source;
    const std::stop_token stop_token = halt::to_stop_token(source.token());
    int runs = 0;
    std::stop_callback callback(stop_token, [&] { ++runs; });
    EXPECT_EQ(runs, 0);
    source.cancel(halt::errc::shutting_down);
    EXPECT_EQ(runs, 1);
}

TEST(StopTokenInterop, StopTokenOfACanceledTokenIsAlreadyStopped) {
    halt::source source;
    source.cancel();
    const std::stop_token stop_token = halt::to_stop_token(source.token());
    EXPECT_TRUE(stop_token.stop_requested());
}

TEST(StopTokenInterop, StopTokenOfANoneTokenIsNeverStopped) {
    const std::stop_token stop_token = halt::to_stop_token(halt::token::none());
    EXPECT_FALSE(stop_token.stop_requested());
}

TEST(StopTokenInterop, SeveralStopTokensOfOneHaltTokenAllStop) {
    halt::source source;
    const std::stop_token first = halt::to_stop_token(source.token());
    const std::stop_token second = halt::to_stop_token(source.token());
    source.cancel();
    EXPECT_TRUE(first.stop_requested());
    EXPECT_TRUE(second.stop_requested());
}

TEST(StopTokenInterop, StopTokenOfALinkedSourceStopsWhenTheParentIsCanceled) {
    halt::source parent;
    halt::source linked = halt::source::linked(parent.token());
    const std::stop_token stop_token = halt::to_stop_token(linked.token());
    parent.cancel();
    EXPECT_TRUE(stop_token.stop_requested());
}

TEST(StopTokenInterop, StopTokenStopsWhenADeadlineFires) {
    halt::source source;
    const std::stop_token stop_token = halt::to_stop_token(source.token());
    source.cancel_after(1ms);
    EXPECT_TRUE(wait_for_stop(stop_token, 10s));
}

TEST(StopTokenInterop, StopTokenWakesAConditionVariableWaiterOnAnotherThread) {
    halt::source source;
    std::latch waiting(1);
    std::atomic<bool> woke_stopped{false};
    std::thread waiter([&, stop_token = halt::to_stop_token(source.token())] {
        waiting.count_down();
        woke_stopped = wait_for_stop(stop_token, 10s);
    });
    waiting.wait();
    source.cancel();
    waiter.join();
    EXPECT_TRUE(woke_stopped.load());
}

TEST(StopTokenInterop, StopTokenOutlivesTheHaltState) {
    std::stop_token canceled_stop_token;
    std::stop_token uncanceled_stop_token;
    {
        halt::source canceled;
        halt::source uncanceled;
        canceled_stop_token = halt::to_stop_token(canceled.token());
        uncanceled_stop_token = halt::to_stop_token(uncanceled.token());
        canceled.cancel();
    }
    EXPECT_TRUE(canceled_stop_token.stop_requested());
    EXPECT_FALSE(uncanceled_stop_token.stop_requested());
}

TEST(StopTokenInterop, ManyConversionsOfDestroyedSourcesDoNotLeak) {
    for (int round = 0; round < 1000; ++round) {
        halt::source source;
        const std::stop_token stop_token = halt::to_stop_token(source.token());
        if (round % 2 == 0) {
            source.cancel();
        }
    }
}

TEST(StopTokenInterop, LinkedSourceOfAStopSourceCancelsWithCanceled) {
    std::stop_source stop_source;
    halt::source linked = halt::source::linked(stop_source.get_token());
    std::error_code seen;
    halt::registration registration = linked.token().on_cancel([&](std::error_code reason) { seen = reason; });
    stop_source.request_stop();
    EXPECT_TRUE(linked.is_cancellation_requested());
    EXPECT_EQ(seen, halt::errc::canceled);
}

TEST(StopTokenInterop, JthreadStopReachesAHaltSource) {
    std::latch linked_and_waiting(1);
    std::atomic<bool> woke{false};
    std::error_code reason;
    std::jthread worker([&](std::stop_token stop_token) {
        halt::source linked = halt::source::linked(stop_token);
        linked_and_waiting.count_down();
        woke = linked.token().wait_for(10s);
        reason = linked.token().reason();
    });
    linked_and_waiting.wait();
    worker.request_stop();
    worker.join();
    EXPECT_TRUE(woke.load());
    EXPECT_EQ(reason, halt::errc::canceled);
}

TEST(StopTokenInterop, JthreadDestructorStopReachesAHaltSource) {
    std::atomic<bool> woke{false};
    {
        std::latch started(1);
        std::jthread worker([&](std::stop_token stop_token) {
            halt::source linked = halt::source::linked(halt::token::none(), stop_token);
            started.count_down();
            woke = linked.token().wait_for(10s);
        });
        started.wait();
    }  // ~jthread requests stop, then joins
    EXPECT_TRUE(woke.load());
}

TEST(StopTokenInterop, RoundTripHaltToStdToHalt) {
    halt::source origin;
    halt::source linked = halt::source::linked(halt::to_stop_token(origin.token()));
    EXPECT_FALSE(linked.is_cancellation_requested());
    origin.cancel(halt::errc::shutting_down);
    EXPECT_TRUE(linked.is_cancellation_requested());
    // The reason does not survive the std::stop_token hop: it becomes errc::canceled.
    EXPECT_EQ(linked.token().reason(), halt::errc::canceled);
}

TEST(StopTokenInterop, RoundTripStdToHaltToStd) {
    std::stop_source origin;
    halt::source linked = halt::source::linked(origin.get_token());
    const std::stop_token back = halt::to_stop_token(linked.token());
    origin.request_stop();
    EXPECT_TRUE(back.stop_requested());
}

}  // namespace
