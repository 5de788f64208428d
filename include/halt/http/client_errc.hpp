#pragma once
// How halt::http::client reports failures: one std::error_code per kind of failure, and the exception
// that carries it together with the host it happened with.

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace halt::http {

/// Why an HTTP client call failed (other than by cancellation, which is halt::canceled_error). Values
/// start at 1 so that a default std::error_code means "no failure".
enum class client_errc {
    malformed_url = 1,    ///< the URL does not parse (no "scheme://", empty host, bad port, ...)
    unsupported_scheme,   ///< a scheme other than http and https (or https in a build without OpenSSL)
    resolve_failed,       ///< name resolution (DNS, /etc/hosts) gave no address for the host
    connection_refused,   ///< every address of the host refused the connection
    connection_failed,    ///< connecting failed otherwise (unreachable, timed out by the system, ...)
    connection_reset,     ///< the peer reset the connection (RST) while sending or receiving
    connection_closed,    ///< the peer closed the connection before a complete reply
    not_http_reply,       ///< the reply is not HTTP/1.x (garbage, another protocol, a broken header)
    headers_too_large,    ///< the reply's header exceeds client_options::max_header_size
    body_too_large,       ///< the reply's body exceeds client_options::max_body_size
    tls_failed,           ///< the TLS handshake failed: certificate not trusted, name mismatch, not TLS, ...
};

/// The category of client_errc; its name() is "halt.http.client". connection_refused and
/// connection_reset are equivalent to std::errc::connection_refused and std::errc::connection_reset,
/// so code written against the generic conditions recognises them. Thread-safe; never throws.
const std::error_category& client_category() noexcept;

/// Makes a std::error_code in client_category() (found by ADL).
inline std::error_code make_error_code(client_errc value) noexcept {
    return {static_cast<int>(value), client_category()};
}

/// The exception every failed client call reports (cancellation aside: that is halt::canceled_error).
///
/// code() is a client_errc; host() names the host the call was for ("host:port"; for a URL that does
/// not parse, the URL itself); cause() is the lower-level error that led to it (Asio's, Beast's, the
/// resolver's), empty when there is none. what() says all three in one line, e.g.
/// `connection refused: 127.0.0.1:8080 (Connection refused)`.
class client_error : public std::system_error {
public:
    /// `detail` (may be empty) is appended to what() before the cause, for the malformed_url kind of
    /// message ("missing \"://\"").
    client_error(client_errc code, std::string host, std::error_code cause = {}, std::string_view detail = {});

    /// "host:port", or the offending URL for malformed_url.
    const std::string& host() const noexcept { return host_; }
    /// The lower-level failure, or an empty code.
    const std::error_code& cause() const noexcept { return cause_; }

    /// The one-line description: kind, host, then detail and cause.
    const char* what() const noexcept override { return description_.what(); }

private:
    std::string host_;
    std::error_code cause_;
    std::runtime_error description_;  // a reference-counted string: copying the exception cannot throw
};

}  // namespace halt::http

template <>
struct std::is_error_code_enum<halt::http::client_errc> : std::true_type {};
