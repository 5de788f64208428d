#pragma once
// Deadlines that travel between services: a caller's remaining budget, sent as a duration in a header.
//
// Two formats are understood on the way in and written on the way out:
// - `X-Request-Timeout-Ms: 250`: decimal milliseconds. A value of zero or below (`0`, `-12`) means the
//   budget is already spent.
// - `grpc-timeout: 250m`: gRPC's format, 1 to 8 digits followed by a unit: H (hours), M (minutes),
//   S (seconds), m (milliseconds), u (microseconds), n (nanoseconds).
// A duration, not a clock time, so that the two hosts' clocks need not agree.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace halt::http {

/// The header names, as they are sent (field lookup is case-insensitive on the way in).
inline constexpr std::string_view request_timeout_header = "X-Request-Timeout-Ms";
inline constexpr std::string_view grpc_timeout_header = "grpc-timeout";

/// Parses an X-Request-Timeout-Ms value: optional surrounding spaces or tabs, an optional '-', then
/// decimal digits. Returns the budget (zero or negative: spent; values past the range of
/// milliseconds saturate), or std::nullopt when the value is not of that form. Never throws.
std::optional<std::chrono::milliseconds> parse_request_timeout_ms(std::string_view value) noexcept;

/// Parses a grpc-timeout value (1 to 8 digits and a unit, surrounding spaces or tabs allowed).
/// Returns the budget, or std::nullopt when the value is malformed. Never throws.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) noexcept;

/// Formats `budget` for X-Request-Timeout-Ms, in whole milliseconds rounded down (so a callee never
/// believes it has more time than it has); a negative budget is written as 0.
std::string format_request_timeout_ms(std::chrono::nanoseconds budget);

/// Formats `budget` for grpc-timeout: the finest unit whose value fits in 8 digits, rounded down;
/// a negative budget is written as "0n".
std::string format_grpc_timeout(std::chrono::nanoseconds budget);

}  // namespace halt::http
