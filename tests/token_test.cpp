// Tests for <halt/token.hpp>: the observer side of a cancellation state.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

namespace {

static_assert(sizeof(halt::token) == sizeof(void*), "a token is one pointer");
static_assert(std::is_nothrow_default_constructible_v<halt::token>);
static_assert(std::is_nothrow_copy_constructible_v<halt::token>);
static_assert(std::is_nothrow_copy_assignable_v<halt::token>);
static_assert(std::is_nothrow_move_constructible_v<halt::token>);
static_assert(std::is_nothrow_move_assignable_v<halt::token>);
static_assert(std::is_nothrow_destructible_v<halt::token>);

// The observers are documented noexcept.
static_assert(noexcept(std::declval<const halt::token&>().is_cancellation_requested()));
static_assert(noexcept(std::declval<const halt::token&>().can_be_canceled()));
static_assert(noexcept(std::declval<const halt::token&>().reason()));
static_assert(noexcept(std::declval<const halt::token&>().deadline()));
static_assert(noexcept(std::declval<const halt::token&>().stop_requested()));
static_assert(noexcept(std::declval<const halt::token&>().stop_possible()));
static_assert(noexcept(std::declval<const halt::token&>() == std::declval<const halt::token&>()));

static_assert(std::is_same_v<decltype(std::declval<const halt::token&>().reason()), std::error_code>);
static_assert(std::is_same_v<decltype(std::declval<const halt::token&>().deadline()),
                             std::optional<std::chrono::steady_clock::time_point>>);
static_assert(std::is_same_v<decltype(std::declval<const halt::token&>().on_cancel([] {})), halt::registration>);

TEST(Token, DefaultConstructedIsNone) {
    const halt::token token;
    EXPECT_EQ(token, halt::token::none());
    EXPECT_FALSE(token.is_cancellation_requested());
    EXPECT_FALSE(token.can_be_canceled());
    EXPECT_FALSE(token.stop_requested());
    EXPECT_FALSE(token.stop_possible());
    EXPECT_FALSE(token.reason());
    EXPECT_EQ(token.reason(), std::error_code());
    EXPECT_FALSE(token.deadline().has_value());
    EXPECT_NO_THROW(token.throw_if_cancellation_requested());
}

TEST(Token, NoneTokensAreEqual) {
    EXPECT_EQ(halt::token::none(), halt::token::none());
    EXPECT_EQ(halt::token(), halt::token::none());
}

TEST(Token, OnCancelOnNoneTokenIsANoOp) {
    const halt::token token = halt::token::none();
    int runs = 0;
    {
        halt::registration registration = token.on_cancel([&] { ++runs; });
        EXPECT_EQ(runs, 0);
    }
    EXPECT_EQ(runs, 0);
}

TEST(Token, TokenOfANewSourceCanBeCanceledButIsNotYet) {
    halt::source source;
    const halt::token token = source.token();
    EXPECT_TRUE(token.can_be_canceled());
    EXPECT_TRUE(token.stop_possible());
    EXPECT_FALSE(token.is_cancellation_requested());
    EXPECT_FALSE(token.stop_requested());
    EXPECT_FALSE(token.reason());
    EXPECT_FALSE(token.deadline().has_value());
    EXPECT_NE(token, halt::token::none());
}

TEST(Token, ObservesCancellation) {
    halt::source source;
    const halt::token token = source.token();
    ASSERT_TRUE(source.cancel());
    EXPECT_TRUE(token.is_cancellation_requested());
    EXPECT_TRUE(token.stop_requested());
    EXPECT_TRUE(token.can_be_canceled());
    EXPECT_TRUE(token.stop_possible());
    EXPECT_EQ(token.reason(), halt::errc::canceled);
}

TEST(Token, CopiesObserveTheSameState) {
    halt::source source;
    const halt::token original = source.token();
    halt::token copy = original;
    halt::token moved = std::move(copy);
    halt::token assigned;
    assigned = moved;
    EXPECT_EQ(original, moved);
    EXPECT_EQ(original, assigned);
    source.cancel(halt::errc::shutting_down);
    EXPECT_TRUE(moved.is_cancellation_requested());
    EXPECT_TRUE(assigned.is_cancellation_requested());
    EXPECT_EQ(assigned.reason(), halt::errc::shutting_down);
}

TEST(Token, EqualityMeansSameState) {
    halt::source first;
    halt::source second;
    const halt::source first_copy = first;  // NOLINT(performance-unnecessary-copy-initialization): copies share state
    EXPECT_EQ(first.token(), first.token());
    EXPECT_EQ(first.token(), first_copy.token());
    EXPECT_NE(first.token(), second.token());
    EXPECT_NE(first.token(), halt::token::none());
    EXPECT_NE(halt::token::none(), second.token());
    EXPECT_FALSE(first.token() != first_copy.token());
}

TEST(Token, ReasonIsEmptyUntilCanceled) {
    halt::source source;
    EXPECT_EQ(source.token().reason(), std::error_code());
    source.cancel(std::make_error_code(std::errc::connection_reset));
    EXPECT_EQ(source.token().reason(), std::make_error_code(std::errc::connection_reset));
}

TEST(Token, ThrowIfCancellationRequestedDoesNothingBeforeCancel) {
    halt::source source;
    EXPECT_NO_THROW(source.token().throw_if_cancellation_requested());
}

TEST(Token, ThrowIfCancellationRequestedThrowsCanceledErrorWithTokenAndReason) {
    halt::source source;
    const halt::token token = source.token();
    source.cancel();
    try {
        token.throw_if_cancellation_requested();
        FAIL() << "throw_if_cancellation_requested did not throw on a cancelled token";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), token);
        EXPECT_EQ(error.code(), halt::errc::canceled);
        EXPECT_EQ(error.code(), token.reason());
    }
}

TEST(Token, ThrowIfCancellationRequestedCarriesACustomReason) {
    halt::source source;
    const halt::token token = source.token();
    const std::error_code reason = std::make_error_code(std::errc::broken_pipe);
    source.cancel(reason);
    try {
        token.throw_if_cancellation_requested();
        FAIL() << "throw_if_cancellation_requested did not throw on a cancelled token";
    } catch (const std::system_error& error) {
        // Catching as std::system_error must work: canceled_error derives from it.
        EXPECT_EQ(error.code(), reason);
        const auto* canceled = dynamic_cast<const halt::canceled_error*>(&error);
        ASSERT_NE(canceled, nullptr);
        EXPECT_EQ(canceled->token(), token);
    }
}

TEST(Token, ThrowIfCancellationRequestedReportsADeadline) {
    halt::source source;
    source.cancel_at(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    EXPECT_THROW(
        {
            try {
                source.token().throw_if_cancellation_requested();
            } catch (const halt::canceled_error& error) {
                EXPECT_EQ(error.code(), halt::errc::deadline_exceeded);
                throw;
            }
        },
        halt::canceled_error);
}

TEST(Token, OnCancelRunsTheCallbackOnCancel) {
    halt::source source;
    int runs = 0;
    halt::registration registration = source.token().on_cancel([&] { ++runs; });
    EXPECT_EQ(runs, 0);
    source.cancel();
    EXPECT_EQ(runs, 1);
    source.cancel();
    EXPECT_EQ(runs, 1) << "a second cancel must not run callbacks again";
}

TEST(Token, OnCancelPassesTheReasonToACallbackThatTakesOne) {
    halt::source source;
    std::error_code seen;
    halt::registration registration = source.token().on_cancel([&](std::error_code reason) { seen = reason; });
    source.cancel(halt::errc::client_disconnected);
    EXPECT_EQ(seen, halt::errc::client_disconnected);
}

TEST(Token, OnCancelAcceptsAConstReferenceToTheReason) {
    halt::source source;
    std::error_code seen;
    halt::registration registration =
        source.token().on_cancel([&](const std::error_code& reason) { seen = reason; });
    source.cancel();
    EXPECT_EQ(seen, halt::errc::canceled);
}

TEST(Token, OnCancelOnACanceledTokenRunsAtOnceOnTheRegisteringThread) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    std::thread::id ran_on;
    std::error_code seen;
    halt::registration registration = source.token().on_cancel([&](std::error_code reason) {
        ran_on = std::this_thread::get_id();
        seen = reason;
    });
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_EQ(seen, halt::errc::shutting_down);
}

TEST(Token, OnCancelAcceptsAMoveOnlyCallable) {
    halt::source source;
    int runs = 0;
    auto owned = std::make_unique<int>(7);
    halt::registration registration = source.token().on_cancel([&runs, owned = std::move(owned)] { runs += *owned; });
    source.cancel();
    EXPECT_EQ(runs, 7);
}

TEST(Token, OnCancelAcceptsAMutableCallable) {
    halt::source source;
    int observed = 0;
    halt::registration registration = source.token().on_cancel([&observed, count = 0]() mutable {
        ++count;
        observed = count;
    });
    source.cancel();
    EXPECT_EQ(observed, 1);
}

TEST(Token, OnCancelAcceptsAnLvalueCallableAndCopiesIt) {
    halt::source source;
    int runs = 0;
    auto callable = [&runs] { ++runs; };
    halt::registration registration = source.token().on_cancel(callable);
    source.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(Token, OnCancelAcceptsALargeCallable) {
    // Bigger than two pointers: may allocate, must still work.
    halt::source source;
    std::array<long, 16> payload{};
    payload[15] = 42;
    long seen = 0;
    halt::registration registration = source.token().on_cancel([&seen, payload] { seen = payload[15]; });
    source.cancel();
    EXPECT_EQ(seen, 42);
}

TEST(Token, OnCancelDestroysTheCallableAfterItRan) {
    halt::source source;
    auto tracker = std::make_shared<int>(0);
    std::weak_ptr<int> watch = tracker;
    {
        halt::registration registration = source.token().on_cancel([tracker = std::move(tracker)] { ++*tracker; });
        source.cancel();
    }
    EXPECT_TRUE(watch.expired()) << "the callable (and what it owns) must be released";
}

TEST(Token, OnCancelDestroysTheCallableWhenTheRegistrationIsDestroyed) {
    halt::source source;
    auto tracker = std::make_shared<int>(0);
    std::weak_ptr<int> watch = tracker;
    {
        halt::registration registration = source.token().on_cancel([tracker = std::move(tracker)] { ++*tracker; });
        EXPECT_FALSE(watch.expired());
    }
    EXPECT_TRUE(watch.expired());
    source.cancel();
}

TEST(Token, OutlivesItsSource) {
    halt::token token;
    {
        halt::source source;
        token = source.token();
        source.cancel(halt::errc::shutting_down);
    }
    EXPECT_TRUE(token.is_cancellation_requested());
    EXPECT_EQ(token.reason(), halt::errc::shutting_down);
}

TEST(Token, UncanceledTokenOutlivesItsSource) {
    halt::token token;
    {
        halt::source source;
        token = source.token();
    }
    EXPECT_FALSE(token.is_cancellation_requested());
    EXPECT_FALSE(token.reason());
    halt::registration registration = token.on_cancel([] {});
}

TEST(Token, ReasonIsSetBeforeCallbacksRun) {
    halt::source source;
    const halt::token token = source.token();
    bool requested_inside = false;
    std::error_code reason_inside;
    halt::registration registration = token.on_cancel([&] {
        requested_inside = token.is_cancellation_requested();
        reason_inside = token.reason();
    });
    source.cancel(halt::errc::shutting_down);
    EXPECT_TRUE(requested_inside);
    EXPECT_EQ(reason_inside, halt::errc::shutting_down);
}

TEST(Token, CanBeUsedAcrossThreads) {
    halt::source source;
    const halt::token token = source.token();
    std::thread canceller([source]() mutable { source.cancel(halt::errc::shutting_down); });
    canceller.join();
    EXPECT_TRUE(token.is_cancellation_requested());
    EXPECT_EQ(token.reason(), halt::errc::shutting_down);
}

}  // namespace
