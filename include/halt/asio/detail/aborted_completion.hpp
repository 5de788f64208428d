#pragma once
// How to complete an operation that halt::bind does not start because its token is already cancelled:
// the arguments "aborted" takes in the operation's completion signature.

#include <exception>
#include <system_error>
#include <tuple>
#include <type_traits>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <halt/canceled_error.hpp>
#include <halt/token.hpp>

namespace halt::asio_detail {

/// Primary: a signature halt cannot express "aborted" in. The operation is then started anyway and
/// cancelled through its slot right after.
template <class Signature>
struct aborted_completion {
    static constexpr bool available = false;
};

/// `(error_code, values...)`: Asio's convention. Completes with operation_aborted and default values.
template <class Result, class First, class... Rest>
    requires std::is_same_v<std::decay_t<First>, boost::system::error_code> &&
             (std::is_default_constructible_v<std::decay_t<Rest>> && ...)
struct aborted_completion<Result(First, Rest...)> {
    static constexpr bool available = true;
    static auto arguments(const halt::token&) {
        return std::tuple<boost::system::error_code, std::decay_t<Rest>...>(
            boost::system::error_code(boost::asio::error::operation_aborted), std::decay_t<Rest>()...);
    }
};

/// `(std::error_code, values...)`: the same, as std::errc::operation_canceled.
template <class Result, class First, class... Rest>
    requires std::is_same_v<std::decay_t<First>, std::error_code> &&
             (std::is_default_constructible_v<std::decay_t<Rest>> && ...)
struct aborted_completion<Result(First, Rest...)> {
    static constexpr bool available = true;
    static auto arguments(const halt::token&) {
        return std::tuple<std::error_code, std::decay_t<Rest>...>(
            std::make_error_code(std::errc::operation_canceled), std::decay_t<Rest>()...);
    }
};

/// `(std::exception_ptr, values...)`: co_spawn's convention. Completes with a halt::canceled_error
/// carrying the token (and so its reason).
template <class Result, class First, class... Rest>
    requires std::is_same_v<std::decay_t<First>, std::exception_ptr> &&
             (std::is_default_constructible_v<std::decay_t<Rest>> && ...)
struct aborted_completion<Result(First, Rest...)> {
    static constexpr bool available = true;
    static auto arguments(const halt::token& tok) {
        return std::tuple<std::exception_ptr, std::decay_t<Rest>...>(
            std::make_exception_ptr(halt::canceled_error(tok)), std::decay_t<Rest>()...);
    }
};

template <class... Signatures>
struct first_signature;
template <class First, class... Rest>
struct first_signature<First, Rest...> {
    using type = First;
};

}  // namespace halt::asio_detail
