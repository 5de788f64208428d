#pragma once
// halt::canceled_error: the one exception type for every cancellation.

#include <system_error>

#include <halt/errc.hpp>
#include <halt/token.hpp>

namespace halt {

/// Thrown when an operation stops because its token was cancelled. Its code()
/// is the cancellation's reason (errc::deadline_exceeded, a user code, ...),
/// and token() is the token that was cancelled, so a caller can tell its own
/// cancellation from someone else's:
///
///     catch (const halt::canceled_error& e) {
///         if (e.token() == my_token) ...
///     }
///
/// Unlike .NET there is no second type for timeouts: the reason says it.
class canceled_error : public std::system_error {
public:
    /// Uses the token's reason, or errc::canceled if it has none (not
    /// cancelled, or the none token).
    explicit canceled_error(halt::token tok)
        : std::system_error(reason_or_canceled(tok)), token_(std::move(tok)) {}

    /// A cancellation with an explicit reason and no particular token.
    explicit canceled_error(std::error_code reason, halt::token tok = {})
        : std::system_error(reason ? reason : make_error_code(errc::canceled)), token_(std::move(tok)) {}

    /// The token whose cancellation this reports (the none token if unknown).
    const halt::token& token() const noexcept { return token_; }

private:
    static std::error_code reason_or_canceled(const halt::token& tok) noexcept {
        const std::error_code reason = tok.reason();
        return reason ? reason : make_error_code(errc::canceled);
    }

    halt::token token_;
};

}  // namespace halt
