// Tests for <halt/canceled_error.hpp>: the one exception type for every cancellation.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>

namespace {

static_assert(std::is_base_of_v<std::system_error, halt::canceled_error>);
static_assert(std::is_base_of_v<std::exception, halt::canceled_error>);
static_assert(std::is_constructible_v<halt::canceled_error, halt::token>);
static_assert(!std::is_convertible_v<halt::token, halt::canceled_error>, "the token constructor is explicit");
static_assert(noexcept(std::declval<const halt::canceled_error&>().token()));
static_assert(std::is_copy_constructible_v<halt::canceled_error>, "exceptions must be copyable");

TEST(CanceledError, FromACanceledTokenCarriesTheTokenAndTheDefaultReason) {
    halt::source source;
    source.cancel();
    const halt::canceled_error error(source.token());
    EXPECT_EQ(error.code(), halt::errc::canceled);
    EXPECT_EQ(error.token(), source.token());
}

TEST(CanceledError, FromACanceledTokenCarriesACustomReason) {
    halt::source source;
    const std::error_code reason = std::make_error_code(std::errc::host_unreachable);
    source.cancel(reason);
    const halt::canceled_error error(source.token());
    EXPECT_EQ(error.code(), reason);
    EXPECT_EQ(error.token(), source.token());
}

TEST(CanceledError, FromADeadlineCarriesDeadlineExceeded) {
    halt::source source;
    source.cancel_at(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    const halt::canceled_error error(source.token());
    EXPECT_EQ(error.code(), halt::errc::deadline_exceeded);
}

TEST(CanceledError, FromAnUncanceledTokenUsesCanceled) {
    halt::source source;
    const halt::canceled_error error(source.token());
    EXPECT_EQ(error.code(), halt::errc::canceled);
    EXPECT_EQ(error.token(), source.token());
}

TEST(CanceledError, FromTheNoneTokenUsesCanceled) {
    const halt::canceled_error error(halt::token::none());
    EXPECT_EQ(error.code(), halt::errc::canceled);
    EXPECT_EQ(error.token(), halt::token::none());
}

TEST(CanceledError, IsAnOperationCanceledSystemError) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    try {
        throw halt::canceled_error(source.token());
    } catch (const std::system_error& error) {
        EXPECT_TRUE(error.code() == std::errc::operation_canceled);
        EXPECT_FALSE(std::string(error.what()).empty());
    }
}

TEST(CanceledError, CopyKeepsTokenAndCode) {
    halt::source source;
    source.cancel(halt::errc::client_disconnected);
    const halt::canceled_error original(source.token());
    const halt::canceled_error copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_EQ(copy.code(), halt::errc::client_disconnected);
    EXPECT_EQ(copy.token(), source.token());
}

TEST(CanceledError, KeepsTheTokenAliveAfterTheSourceIsGone) {
    std::optional<halt::canceled_error> error;
    {
        halt::source source;
        source.cancel(halt::errc::shutting_down);
        error.emplace(source.token());
    }
    EXPECT_TRUE(error->token().is_cancellation_requested());
    EXPECT_EQ(error->token().reason(), halt::errc::shutting_down);
}

}  // namespace
