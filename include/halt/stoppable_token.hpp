#pragma once
// The C++26 stoppable-token concepts ([stoptoken.concepts]), written out for
// C++20 so that halt::token can prove it has the standard's shape.

#include <concepts>
#include <type_traits>

namespace halt {

namespace detail {
template <template <class> class>
struct check_type_alias_exists;
}  // namespace detail

/// The token's callback type for `CallbackFn` (the standard's
/// stop_callback_for_t).
template <class Token, class CallbackFn>
using stop_callback_for_t = typename Token::template callback_type<CallbackFn>;

/// [stoptoken.concepts]: a callback type that can be built from every value
/// category of the token and from `Initializer`.
template <class CallbackFn, class Token, class Initializer = CallbackFn>
concept stoppable_callback_for =
    std::invocable<CallbackFn> && std::constructible_from<CallbackFn, Initializer> &&
    requires { typename stop_callback_for_t<Token, CallbackFn>; } &&
    std::constructible_from<stop_callback_for_t<Token, CallbackFn>, const Token&, Initializer> &&
    std::constructible_from<stop_callback_for_t<Token, CallbackFn>, Token&, Initializer> &&
    std::constructible_from<stop_callback_for_t<Token, CallbackFn>, const Token, Initializer> &&
    std::constructible_from<stop_callback_for_t<Token, CallbackFn>, Token, Initializer>;

/// [stoptoken.concepts]: queries that do not throw, cheap copies, equality,
/// and a callback_type member alias template.
template <class Token>
concept stoppable_token =
    requires(const Token tok) {
        typename detail::check_type_alias_exists<Token::template callback_type>;
        { tok.stop_requested() } noexcept -> std::same_as<bool>;
        { tok.stop_possible() } noexcept -> std::same_as<bool>;
        { Token(tok) } noexcept;
    } &&
    std::copyable<Token> && std::equality_comparable<Token> && std::swappable<Token>;

/// A stoppable token that can never be stopped, known at compile time.
template <class Token>
concept unstoppable_token = stoppable_token<Token> && requires {
    requires std::bool_constant<(!Token::stop_possible())>::value;
};

}  // namespace halt
