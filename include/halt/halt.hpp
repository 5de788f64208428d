#pragma once
// The whole core of halt: cooperative cancellation for C++20.

#include <halt/callback.hpp>
#include <halt/callback_errors.hpp>
#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/registration.hpp>
#include <halt/source.hpp>
#include <halt/stop_token_interop.hpp>
#include <halt/stoppable_token.hpp>
#include <halt/token.hpp>

namespace halt {
static_assert(sizeof(token) == sizeof(void*), "a token is one pointer wide");
static_assert(stoppable_token<token>, "halt::token has the C++26 stoppable_token shape");
static_assert(std::is_nothrow_copy_constructible_v<token> && std::is_nothrow_move_constructible_v<token>);
}  // namespace halt
