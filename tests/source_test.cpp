// Tests for <halt/source.hpp>: cancelling, reasons, callback order and errors, try_reset.
// Linked sources are in linked_source_test.cpp and deadlines in deadline_test.cpp.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;

static_assert(std::is_default_constructible_v<halt::source>);
static_assert(std::is_copy_constructible_v<halt::source>);
static_assert(std::is_copy_assignable_v<halt::source>);
static_assert(std::is_nothrow_move_constructible_v<halt::source>);
static_assert(noexcept(std::declval<const halt::source&>().token()));
static_assert(noexcept(std::declval<const halt::source&>().is_cancellation_requested()));

// A user error category, to show that any std::error_code is accepted as a reason.
class test_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "halt-test"; }
    std::string message(int value) const override { return "test reason " + std::to_string(value); }
};

const test_category& user_category() {
    static const test_category category;
    return category;
}

TEST(Source, NewSourceIsNotCanceled) {
    const halt::source source;
    EXPECT_FALSE(source.is_cancellation_requested());
    EXPECT_TRUE(source.token().can_be_canceled());
    EXPECT_FALSE(source.token().is_cancellation_requested());
}

TEST(Source, EachDefaultConstructedSourceHasItsOwnState) {
    halt::source first;
    halt::source second;
    EXPECT_NE(first.token(), second.token());
    first.cancel();
    EXPECT_TRUE(first.is_cancellation_requested());
    EXPECT_FALSE(second.is_cancellation_requested());
}

TEST(Source, CopiesShareOneState) {
    halt::source original;
    halt::source copy = original;
    EXPECT_EQ(original.token(), copy.token());
    EXPECT_TRUE(copy.cancel());
    EXPECT_TRUE(original.is_cancellation_requested());
    EXPECT_FALSE(original.cancel()) << "the copy already cancelled the shared state";
}

TEST(Source, CopyAssignmentSharesTheAssignedState) {
    halt::source first;
    halt::source second;
    second = first;
    EXPECT_EQ(first.token(), second.token());
    first.cancel();
    EXPECT_TRUE(second.is_cancellation_requested());
}

TEST(Source, MoveKeepsTheState) {
    halt::source original;
    const halt::token token = original.token();
    halt::source moved = std::move(original);
    EXPECT_EQ(moved.token(), token);
    EXPECT_TRUE(moved.cancel());
    EXPECT_TRUE(token.is_cancellation_requested());
}

TEST(Source, CancelReturnsTrueOnlyOnce) {
    halt::source source;
    EXPECT_TRUE(source.cancel());
    EXPECT_FALSE(source.cancel());
    EXPECT_FALSE(source.cancel(halt::errc::shutting_down));
    EXPECT_TRUE(source.is_cancellation_requested());
}

TEST(Source, DefaultReasonIsCanceled) {
    halt::source source;
    source.cancel();
    EXPECT_EQ(source.token().reason(), halt::errc::canceled);
    EXPECT_EQ(source.token().reason(), halt::make_error_code(halt::errc::canceled));
}

TEST(Source, HaltReasonIsKept) {
    halt::source source;
    EXPECT_TRUE(source.cancel(halt::errc::client_disconnected));
    EXPECT_EQ(source.token().reason(), halt::errc::client_disconnected);
}

TEST(Source, StandardErrorCodeIsAcceptedAsReason) {
    halt::source source;
    const std::error_code reason = std::make_error_code(std::errc::connection_aborted);
    EXPECT_TRUE(source.cancel(reason));
    EXPECT_EQ(source.token().reason(), reason);
}

TEST(Source, UserCategoryIsAcceptedAsReason) {
    halt::source source;
    const std::error_code reason(17, user_category());
    EXPECT_TRUE(source.cancel(reason));
    EXPECT_EQ(source.token().reason(), reason);
    EXPECT_EQ(&source.token().reason().category(), &user_category());
}

TEST(Source, FirstReasonWins) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    source.cancel(halt::errc::client_disconnected);
    source.cancel();
    EXPECT_EQ(source.token().reason(), halt::errc::shutting_down);
}

TEST(Source, CallbacksRunNewestFirst) {
    halt::source source;
    const halt::token token = source.token();
    std::vector<int> order;
    std::vector<halt::registration> registrations;
    for (int index = 0; index < 5; ++index) {
        registrations.push_back(token.on_cancel([&order, index] { order.push_back(index); }));
    }
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
}

TEST(Source, CallbacksRunNewestFirstAfterSomeWereUnregistered) {
    halt::source source;
    const halt::token token = source.token();
    std::vector<int> order;
    std::vector<halt::registration> registrations;
    for (int index = 0; index < 6; ++index) {
        registrations.push_back(token.on_cancel([&order, index] { order.push_back(index); }));
    }
    EXPECT_TRUE(registrations[1].unregister());
    EXPECT_TRUE(registrations[4].unregister());
    registrations.push_back(token.on_cancel([&order] { order.push_back(6); }));
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{6, 5, 3, 2, 0}));
}

TEST(Source, CallbacksRunSynchronouslyOnTheCancelingThread) {
    halt::source source;
    std::thread::id ran_on;
    bool done_when_cancel_returned = false;
    halt::registration registration = source.token().on_cancel([&] { ran_on = std::this_thread::get_id(); });
    std::thread canceller([&] {
        source.cancel();
        done_when_cancel_returned = ran_on == std::this_thread::get_id();
    });
    const std::thread::id canceller_id = canceller.get_id();
    canceller.join();
    EXPECT_EQ(ran_on, canceller_id);
    EXPECT_TRUE(done_when_cancel_returned);
}

TEST(Source, CallbacksReceiveTheReason) {
    halt::source source;
    const std::error_code reason = std::make_error_code(std::errc::timed_out);
    std::vector<std::error_code> seen;
    halt::registration first = source.token().on_cancel([&](std::error_code code) { seen.push_back(code); });
    halt::registration second = source.token().on_cancel([&] { seen.push_back(std::error_code()); });
    halt::registration third = source.token().on_cancel([&](std::error_code code) { seen.push_back(code); });
    source.cancel(reason);
    EXPECT_EQ(seen, (std::vector<std::error_code>{reason, std::error_code(), reason}));
}

TEST(Source, CancelWithoutCallbacksDoesNotThrow) {
    halt::source source;
    EXPECT_NO_THROW(source.cancel());
}

TEST(Source, EveryCallbackRunsEvenIfSomeThrowThenCancelThrowsCallbackErrors) {
    halt::source source;
    const halt::token token = source.token();
    std::vector<int> order;
    halt::registration r0 = token.on_cancel([&] { order.push_back(0); throw std::runtime_error("zero"); });
    halt::registration r1 = token.on_cancel([&] { order.push_back(1); });
    halt::registration r2 = token.on_cancel([&] { order.push_back(2); throw std::logic_error("two"); });
    halt::registration r3 = token.on_cancel([&] { order.push_back(3); throw 3; });
    halt::registration r4 = token.on_cancel([&] { order.push_back(4); });
    try {
        source.cancel();
        FAIL() << "cancel must throw callback_errors when a callback threw";
    } catch (const halt::callback_errors& errors) {
        ASSERT_EQ(errors.errors().size(), 3u);
        // Run order is newest first: 3, then 2, then 0.
        try {
            std::rethrow_exception(errors.errors()[0]);
        } catch (int value) {
            EXPECT_EQ(value, 3);
        } catch (...) {
            ADD_FAILURE() << "first error should be the int thrown by the newest callback";
        }
        try {
            std::rethrow_exception(errors.errors()[1]);
        } catch (const std::logic_error& error) {
            EXPECT_EQ(std::string(error.what()), "two");
        } catch (...) {
            ADD_FAILURE() << "second error should be the logic_error";
        }
        try {
            std::rethrow_exception(errors.errors()[2]);
        } catch (const std::runtime_error& error) {
            EXPECT_EQ(std::string(error.what()), "zero");
        } catch (...) {
            ADD_FAILURE() << "third error should be the runtime_error";
        }
    }
    EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
    EXPECT_TRUE(source.is_cancellation_requested());
    EXPECT_FALSE(source.cancel()) << "the state is cancelled even though cancel threw";
}

TEST(Source, CancelWithReasonAlsoThrowsCallbackErrors) {
    halt::source source;
    halt::registration registration =
        source.token().on_cancel([](std::error_code) { throw std::runtime_error("boom"); });
    EXPECT_THROW(source.cancel(halt::errc::shutting_down), halt::callback_errors);
    EXPECT_EQ(source.token().reason(), halt::errc::shutting_down);
}

TEST(Source, CallbackRegisteredFromInsideACallbackRunsAtOnce) {
    halt::source source;
    const halt::token token = source.token();
    std::vector<int> order;
    std::optional<halt::registration> inner;
    halt::registration outer = token.on_cancel([&] {
        order.push_back(1);
        inner.emplace(token.on_cancel([&] { order.push_back(2); }));
        order.push_back(3);
    });
    source.cancel();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Source, CancelFromInsideACallbackReturnsFalseWithoutDeadlock) {
    halt::source source;
    std::optional<bool> inner_result;
    halt::registration registration = source.token().on_cancel([&] { inner_result = source.cancel(); });
    EXPECT_TRUE(source.cancel());
    ASSERT_TRUE(inner_result.has_value());
    EXPECT_FALSE(*inner_result);
}

TEST(Source, CallbackCanCancelAnotherSource) {
    halt::source first;
    halt::source second;
    bool second_ran = false;
    halt::registration forward = first.token().on_cancel([&](std::error_code reason) { second.cancel(reason); });
    halt::registration observe = second.token().on_cancel([&] { second_ran = true; });
    first.cancel(halt::errc::client_disconnected);
    EXPECT_TRUE(second_ran);
    EXPECT_EQ(second.token().reason(), halt::errc::client_disconnected);
}

TEST(Source, ManyCallbacksAllRunOnce) {
    halt::source source;
    std::vector<int> runs(2000, 0);
    std::vector<halt::registration> registrations;
    registrations.reserve(runs.size());
    for (std::size_t index = 0; index < runs.size(); ++index) {
        registrations.push_back(source.token().on_cancel([&runs, index] { ++runs[index]; }));
    }
    source.cancel();
    for (std::size_t index = 0; index < runs.size(); ++index) {
        ASSERT_EQ(runs[index], 1) << index;
    }
}

TEST(Source, DestroyingTheLastSourceWithRegistrationsIsSafe) {
    int runs = 0;
    std::optional<halt::registration> registration;
    {
        halt::source source;
        registration.emplace(source.token().on_cancel([&] { ++runs; }));
    }
    registration.reset();
    EXPECT_EQ(runs, 0);
}

TEST(Source, TryResetFailsWhenCanceled) {
    halt::source source;
    source.cancel();
    EXPECT_FALSE(source.try_reset());
    EXPECT_TRUE(source.is_cancellation_requested());
    EXPECT_EQ(source.token().reason(), halt::errc::canceled);
}

TEST(Source, TryResetSucceedsWhenNotCanceled) {
    halt::source source;
    EXPECT_TRUE(source.try_reset());
    EXPECT_TRUE(source.try_reset());
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Source, TryResetForgetsRegistrations) {
    halt::source source;
    int forgotten_runs = 0;
    halt::registration forgotten = source.token().on_cancel([&] { ++forgotten_runs; });
    ASSERT_TRUE(source.try_reset());
    source.cancel();
    EXPECT_EQ(forgotten_runs, 0);
}

TEST(Source, RegistrationForgottenByTryResetCanStillBeDestroyedAndUnregistered) {
    halt::source source;
    int runs = 0;
    std::optional<halt::registration> forgotten;
    forgotten.emplace(source.token().on_cancel([&] { ++runs; }));
    ASSERT_TRUE(source.try_reset());
    (void)forgotten->unregister();
    forgotten.reset();
    halt::registration fresh = source.token().on_cancel([&] { runs += 10; });
    source.cancel();
    EXPECT_EQ(runs, 10);
}

TEST(Source, SourceIsReusableAfterTryReset) {
    halt::source source;
    const halt::token token = source.token();
    std::vector<int> order;
    halt::registration old_registration = token.on_cancel([&] { order.push_back(0); });
    ASSERT_TRUE(source.try_reset());
    halt::registration first = token.on_cancel([&] { order.push_back(1); });
    halt::registration second = token.on_cancel([&](std::error_code reason) {
        order.push_back(2);
        EXPECT_EQ(reason, halt::errc::shutting_down);
    });
    EXPECT_FALSE(token.is_cancellation_requested());
    EXPECT_TRUE(source.cancel(halt::errc::shutting_down));
    EXPECT_EQ(order, (std::vector<int>{2, 1}));
    EXPECT_TRUE(token.is_cancellation_requested());
}

TEST(Source, TryResetDisarmsTheDeadline) {
    halt::source source;
    source.cancel_after(1h);
    ASSERT_TRUE(source.token().deadline().has_value());
    ASSERT_TRUE(source.try_reset());
    EXPECT_FALSE(source.token().deadline().has_value());
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Source, TryResetFailsAfterAPastDeadline) {
    halt::source source;
    source.cancel_at(std::chrono::steady_clock::now() - 1s);
    EXPECT_FALSE(source.try_reset());
    EXPECT_EQ(source.token().reason(), halt::errc::deadline_exceeded);
}

}  // namespace
