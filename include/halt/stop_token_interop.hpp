#pragma once
// Bridges to std::stop_token. The other direction, a std::stop_token
// cancelling halt, is source::linked(std_stop_token).

#include <stop_token>

#include <halt/token.hpp>

namespace halt {

/// A std::stop_token that is stopped when `tok` is cancelled, for code that
/// takes std::stop_token (std::jthread bodies, std::condition_variable_any).
///
/// The std::stop_source behind it is created on first use (under the source's
/// list lock) and shared by every later call for the same source, so repeated
/// calls are one atomic load plus a std::stop_token copy. cancel() stops it
/// before running the halt callbacks, so a halt callback that hands the
/// std::stop_token on finds it stopped (std::stop_callbacks on it run first). A none token, or one that can no longer be
/// cancelled, gives a std::stop_token with stop_possible() == false.
/// Thread-safe. May allocate (once per source); throws std::bad_alloc.
std::stop_token to_stop_token(const token& tok);

}  // namespace halt
