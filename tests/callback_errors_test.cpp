// Tests for <halt/callback_errors.hpp>: the exception cancel() throws after running every callback.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

static_assert(std::is_base_of_v<std::exception, halt::callback_errors>);
static_assert(noexcept(std::declval<const halt::callback_errors&>().errors()));
static_assert(std::is_same_v<decltype(std::declval<const halt::callback_errors&>().errors()),
                             const std::vector<std::exception_ptr>&>);
static_assert(std::is_copy_constructible_v<halt::callback_errors>, "exceptions must be copyable");

// Cancels `source` and returns what it threw, or fails the test if it threw nothing.
std::vector<std::exception_ptr> errors_of_cancel(halt::source& source) {
    try {
        source.cancel();
    } catch (const halt::callback_errors& errors) {
        EXPECT_FALSE(std::string(errors.what()).empty());
        return errors.errors();
    }
    ADD_FAILURE() << "cancel did not throw callback_errors";
    return {};
}

std::string message_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& exception) {
        return exception.what();
    } catch (...) {
        return "<not a std::exception>";
    }
}

TEST(CallbackErrors, OneThrowingCallback) {
    halt::source source;
    halt::registration registration = source.token().on_cancel([] { throw std::runtime_error("only"); });
    const std::vector<std::exception_ptr> errors = errors_of_cancel(source);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(message_of(errors[0]), "only");
}

TEST(CallbackErrors, EveryExceptionInRunOrder) {
    halt::source source;
    std::vector<halt::registration> registrations;
    for (int index = 0; index < 5; ++index) {
        registrations.push_back(source.token().on_cancel([index] { throw std::runtime_error(std::to_string(index)); }));
    }
    const std::vector<std::exception_ptr> errors = errors_of_cancel(source);
    ASSERT_EQ(errors.size(), 5u);
    // Newest first.
    for (int index = 0; index < 5; ++index) {
        EXPECT_EQ(message_of(errors[index]), std::to_string(4 - index));
    }
}

TEST(CallbackErrors, NonStandardExceptionsAreKept) {
    halt::source source;
    halt::registration registration = source.token().on_cancel([] { throw 42; });
    const std::vector<std::exception_ptr> errors = errors_of_cancel(source);
    ASSERT_EQ(errors.size(), 1u);
    try {
        std::rethrow_exception(errors[0]);
    } catch (int value) {
        EXPECT_EQ(value, 42);
    } catch (...) {
        ADD_FAILURE() << "wrong exception type";
    }
}

TEST(CallbackErrors, ExceptionsFromLinkedChildrenReachTheParentsCancel) {
    halt::source parent;
    halt::source child = halt::source::linked(parent.token());
    halt::registration registration = child.token().on_cancel([] { throw std::runtime_error("child"); });
    const std::vector<std::exception_ptr> errors = errors_of_cancel(parent);
    EXPECT_FALSE(errors.empty()) << "a child's callback error must not vanish";
    EXPECT_TRUE(child.is_cancellation_requested());
}

TEST(CallbackErrors, CanBeCaughtAsStdException) {
    halt::source source;
    halt::registration registration = source.token().on_cancel([] { throw std::logic_error("x"); });
    EXPECT_THROW(source.cancel(), std::exception);
}

TEST(CallbackErrors, NotThrownWhenNoCallbackThrows) {
    halt::source source;
    halt::registration first = source.token().on_cancel([] {});
    halt::registration second = source.token().on_cancel([](std::error_code) {});
    EXPECT_NO_THROW(source.cancel());
}

}  // namespace
