// Tests for <halt/errc.hpp>: the reason codes and their std::error_code category.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace {

constexpr halt::errc every_code[] = {
    halt::errc::canceled,
    halt::errc::deadline_exceeded,
    halt::errc::client_disconnected,
    halt::errc::shutting_down,
};

static_assert(std::is_error_code_enum<halt::errc>::value);
static_assert(std::is_error_code_enum_v<halt::errc>);
static_assert(noexcept(halt::category()));
// Zero means "no error" for std::error_code, so the first reason must not be zero.
static_assert(static_cast<int>(halt::errc::canceled) == 1);
static_assert(static_cast<int>(halt::errc::deadline_exceeded) == 2);
static_assert(static_cast<int>(halt::errc::client_disconnected) == 3);
static_assert(static_cast<int>(halt::errc::shutting_down) == 4);

TEST(Errc, CategoryIsNamedHalt) {
    EXPECT_EQ(std::string_view(halt::category().name()), "halt");
}

TEST(Errc, CategoryIsOneObject) {
    EXPECT_EQ(&halt::category(), &halt::category());
}

TEST(Errc, MakeErrorCodeUsesTheHaltCategoryAndValue) {
    for (halt::errc code : every_code) {
        const std::error_code made = halt::make_error_code(code);
        EXPECT_EQ(&made.category(), &halt::category());
        EXPECT_EQ(made.value(), static_cast<int>(code));
        EXPECT_TRUE(static_cast<bool>(made)) << "a halt reason must read as an error";
    }
}

TEST(Errc, ConvertsImplicitlyToErrorCode) {
    const std::error_code code = halt::errc::deadline_exceeded;
    EXPECT_EQ(code, halt::make_error_code(halt::errc::deadline_exceeded));
    EXPECT_TRUE(code.category() == halt::category());
    EXPECT_EQ(code, halt::errc::deadline_exceeded);
    EXPECT_NE(code, halt::errc::canceled);
}

TEST(Errc, EveryCodeEqualsOperationCanceled) {
    for (halt::errc code : every_code) {
        const std::error_code made = halt::make_error_code(code);
        EXPECT_TRUE(made == std::errc::operation_canceled) << made.message();
        EXPECT_TRUE(std::errc::operation_canceled == made) << made.message();
    }
}

TEST(Errc, CodesAreNotEqualToUnrelatedConditions) {
    for (halt::errc code : every_code) {
        const std::error_code made = halt::make_error_code(code);
        EXPECT_FALSE(made == std::errc::permission_denied);
        EXPECT_FALSE(made == std::errc::not_enough_memory);
    }
}

TEST(Errc, CodesAreDistinct) {
    for (halt::errc left : every_code) {
        for (halt::errc right : every_code) {
            EXPECT_EQ(halt::make_error_code(left) == halt::make_error_code(right), left == right);
        }
    }
}

TEST(Errc, EveryCodeHasAMessage) {
    for (halt::errc code : every_code) {
        EXPECT_FALSE(halt::make_error_code(code).message().empty()) << static_cast<int>(code);
    }
}

TEST(Errc, MessagesAreDistinct) {
    for (halt::errc left : every_code) {
        for (halt::errc right : every_code) {
            if (left != right) {
                EXPECT_NE(halt::make_error_code(left).message(), halt::make_error_code(right).message());
            }
        }
    }
}

TEST(Errc, UnknownValueStillHasAMessage) {
    // error_category::message must not throw or crash for a value it does not know.
    EXPECT_NO_THROW((void)halt::category().message(12345));
}

TEST(Errc, FoundByArgumentDependentLookup) {
    // std::error_code's converting constructor finds make_error_code by ADL; this must not need a using-declaration.
    using namespace std::string_literals;
    const std::error_code code(halt::errc::shutting_down);
    EXPECT_EQ(code.value(), 4);
    EXPECT_EQ(std::string(code.category().name()), "halt"s);
}

}  // namespace
