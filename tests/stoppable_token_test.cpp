// Tests for <halt/stoppable_token.hpp>: the C++26 stoppable_token / unstoppable_token concepts ([stoptoken.concepts])
// and halt::token's conformance to them.

#include <halt/halt.hpp>

#include <gtest/gtest.h>

#include <concepts>
#include <system_error>
#include <type_traits>
#include <utility>

namespace {

// halt::token conforms.
static_assert(halt::stoppable_token<halt::token>);
static_assert(!halt::unstoppable_token<halt::token>, "stop_possible() is not a constant expression false");
static_assert(std::same_as<decltype(std::declval<const halt::token&>().stop_requested()), bool>);
static_assert(std::same_as<decltype(std::declval<const halt::token&>().stop_possible()), bool>);

struct some_callback {
    void operator()() const {}
};
static_assert(std::same_as<halt::token::callback_type<some_callback>, halt::callback<some_callback>>);
static_assert(std::same_as<typename halt::token::template callback_type<some_callback>, halt::callback<some_callback>>);

// A model of the standard's never_stop_token: stoppable and unstoppable.
class never_stop {
    struct callback_holder {
        template <class Init>
        explicit callback_holder(never_stop, Init&&) noexcept {}
    };

public:
    template <class>
    using callback_type = callback_holder;
    static constexpr bool stop_requested() noexcept { return false; }
    static constexpr bool stop_possible() noexcept { return false; }
    bool operator==(const never_stop&) const = default;
};
static_assert(halt::stoppable_token<never_stop>);
static_assert(halt::unstoppable_token<never_stop>);

// A stoppable type whose stop_possible is constexpr true: stoppable, not unstoppable.
class always_possible {
    struct callback_holder {
        template <class Init>
        explicit callback_holder(always_possible, Init&&) noexcept {}
    };

public:
    template <class>
    using callback_type = callback_holder;
    static constexpr bool stop_requested() noexcept { return false; }
    static constexpr bool stop_possible() noexcept { return true; }
    bool operator==(const always_possible&) const = default;
};
static_assert(halt::stoppable_token<always_possible>);
static_assert(!halt::unstoppable_token<always_possible>);

// Each of the following breaks exactly one requirement of the standard's wording.

class missing_callback_type {
public:
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const missing_callback_type&) const = default;
};
static_assert(!halt::stoppable_token<missing_callback_type>);

class callback_type_not_a_template {
public:
    using callback_type = int;
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const callback_type_not_a_template&) const = default;
};
static_assert(!halt::stoppable_token<callback_type_not_a_template>);

class stop_requested_may_throw {
public:
    template <class>
    using callback_type = int;
    bool stop_requested() const { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const stop_requested_may_throw&) const = default;
};
static_assert(!halt::stoppable_token<stop_requested_may_throw>);

class stop_possible_may_throw {
public:
    template <class>
    using callback_type = int;
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const { return false; }
    bool operator==(const stop_possible_may_throw&) const = default;
};
static_assert(!halt::stoppable_token<stop_possible_may_throw>);

class stop_requested_not_bool {
public:
    template <class>
    using callback_type = int;
    int stop_requested() const noexcept { return 0; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const stop_requested_not_bool&) const = default;
};
static_assert(!halt::stoppable_token<stop_requested_not_bool>);

class stop_possible_not_bool {
public:
    template <class>
    using callback_type = int;
    bool stop_requested() const noexcept { return false; }
    int stop_possible() const noexcept { return 0; }
    bool operator==(const stop_possible_not_bool&) const = default;
};
static_assert(!halt::stoppable_token<stop_possible_not_bool>);

class stop_requested_not_const {
public:
    template <class>
    using callback_type = int;
    bool stop_requested() noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const stop_requested_not_const&) const = default;
};
static_assert(!halt::stoppable_token<stop_requested_not_const>);

class copy_may_throw {
public:
    template <class>
    using callback_type = int;
    copy_may_throw() = default;
    copy_may_throw(const copy_may_throw&) noexcept(false) {}
    copy_may_throw& operator=(const copy_may_throw&) = default;
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const copy_may_throw&) const { return true; }
};
static_assert(!halt::stoppable_token<copy_may_throw>);

class not_copyable {
public:
    template <class>
    using callback_type = int;
    not_copyable() = default;
    not_copyable(const not_copyable&) = delete;
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
    bool operator==(const not_copyable&) const = default;
};
static_assert(!halt::stoppable_token<not_copyable>);

class not_equality_comparable {
public:
    template <class>
    using callback_type = int;
    bool stop_requested() const noexcept { return false; }
    bool stop_possible() const noexcept { return false; }
};
static_assert(!halt::stoppable_token<not_equality_comparable>);

static_assert(!halt::stoppable_token<int>);
static_assert(!halt::stoppable_token<void*>);
static_assert(!halt::unstoppable_token<int>);

// Generic code written only against the concept works with halt::token.
template <halt::stoppable_token Token, class F>
class on_stop_guard {
public:
    on_stop_guard(const Token& token, F function) : callback_(token, std::move(function)) {}

private:
    typename Token::template callback_type<F> callback_;
};

template <halt::stoppable_token Token>
bool generic_stop_requested(const Token& token) noexcept {
    return token.stop_possible() && token.stop_requested();
}

TEST(StoppableToken, GenericCodeObservesAHaltToken) {
    halt::source source;
    const halt::token token = source.token();
    EXPECT_FALSE(generic_stop_requested(token));
    source.cancel();
    EXPECT_TRUE(generic_stop_requested(token));
    EXPECT_FALSE(generic_stop_requested(halt::token::none()));
}

TEST(StoppableToken, GenericCallbackTypeRunsOnCancel) {
    halt::source source;
    int runs = 0;
    auto function = [&runs] { ++runs; };
    {
        on_stop_guard<halt::token, decltype(function)> guard(source.token(), function);
        source.cancel();
    }
    EXPECT_EQ(runs, 1);
}

TEST(StoppableToken, GenericCallbackTypeDestroyedBeforeCancelNeverRuns) {
    halt::source source;
    int runs = 0;
    auto function = [&runs] { ++runs; };
    { on_stop_guard<halt::token, decltype(function)> guard(source.token(), function); }
    source.cancel();
    EXPECT_EQ(runs, 0);
}

TEST(StoppableToken, StopRequestedAndStopPossibleMirrorTheHaltNames) {
    halt::source source;
    const halt::token token = source.token();
    EXPECT_EQ(token.stop_requested(), token.is_cancellation_requested());
    EXPECT_EQ(token.stop_possible(), token.can_be_canceled());
    source.cancel();
    EXPECT_EQ(token.stop_requested(), token.is_cancellation_requested());
    EXPECT_EQ(token.stop_possible(), token.can_be_canceled());
    EXPECT_EQ(halt::token::none().stop_possible(), halt::token::none().can_be_canceled());
}

TEST(StoppableToken, NeverStopModelIsUsable) {
    constexpr never_stop token{};
    static_assert(!token.stop_possible());
    EXPECT_FALSE(generic_stop_requested(token));
}

}  // namespace
