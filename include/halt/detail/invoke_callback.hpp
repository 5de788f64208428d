#pragma once
// Callbacks may take the cancellation reason or nothing. This is the one place
// that decides how a callable is called.

#include <concepts>
#include <system_error>
#include <type_traits>
#include <utility>

namespace halt {

/// A callable halt can run on cancellation: `f()` or `f(reason)`.
template <class F>
concept cancellation_callback =
    std::invocable<F> || std::invocable<F, const std::error_code&>;

namespace detail {

/// Whether running `F` (moved from) for a cancellation can throw.
template <class F>
inline constexpr bool is_nothrow_callback = std::invocable<F> ? std::is_nothrow_invocable_v<F>
                                                              : std::is_nothrow_invocable_v<F, const std::error_code&>;

template <class F>
void invoke_callback(F&& f, const std::error_code& reason) {
    if constexpr (std::invocable<F>) {
        std::forward<F>(f)();
    } else {
        std::forward<F>(f)(reason);
    }
}

}  // namespace detail
}  // namespace halt
