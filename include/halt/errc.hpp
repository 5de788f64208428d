#pragma once
// The reasons a cancellation can carry, as std::error_code values.

#include <system_error>
#include <type_traits>

namespace halt {

/// Why an operation was cancelled. Values start at 1 so that a default
/// std::error_code (value 0) always means "not cancelled".
enum class errc {
    canceled = 1,          ///< cancel() without a reason; a std::stop_token parent stopped
    deadline_exceeded,     ///< a deadline set by cancel_after / cancel_at passed
    client_disconnected,   ///< the peer of a request went away
    shutting_down,         ///< the host is stopping
};

/// The category of halt::errc. Its name() is "halt". Every halt code is
/// equivalent to std::errc::operation_canceled, so generic code that tests
/// `ec == std::errc::operation_canceled` recognises a halt cancellation.
/// Thread-safe; never throws.
const std::error_category& category() noexcept;

/// Makes a std::error_code in halt::category(). Found by ADL, which is what lets
/// `std::error_code ec = halt::errc::deadline_exceeded;` compile.
inline std::error_code make_error_code(errc value) noexcept {
    return {static_cast<int>(value), category()};
}

}  // namespace halt

template <>
struct std::is_error_code_enum<halt::errc> : std::true_type {};
