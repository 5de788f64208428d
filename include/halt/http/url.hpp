#pragma once
// halt::http::url: the parts of an absolute http:// URL that a client call needs.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace halt::http {

/// An absolute URL split for an HTTP/1.1 request: `scheme://host[:port][/path][?query][#fragment]`.
///
/// Only what a client call needs is kept: the fragment is dropped (it never goes on the wire) and
/// user information (`user:pass@`) is refused as malformed rather than silently sent nowhere.
struct url {
    std::string scheme;      ///< lower-case, e.g. "http"
    std::string host;        ///< lower-case; an IPv6 literal without its brackets
    std::uint16_t port = 0;  ///< as written, else the scheme's default (80 for http, 443 for https)
    std::string target;      ///< path and query as written, "/" when the URL has no path

    /// "host:port" ("[::1]:8080" for IPv6): the name errors use and the connection pool keys on.
    std::string authority() const;

    /// The Host header's value: the host, with ":port" unless it is the scheme's default.
    std::string host_header() const;

    /// Parses `text`. Throws halt::http::client_error: malformed_url (its what() quotes the URL and
    /// says what is wrong) or unsupported_scheme (a scheme other than http or https; it names the
    /// host).
    static url parse(std::string_view text);

    /// As parse(text), but reports the failure in `error` (and returns an empty url) instead of
    /// throwing. Never throws except std::bad_alloc.
    static url parse(std::string_view text, std::error_code& error);

    friend bool operator==(const url&, const url&) = default;
};

}  // namespace halt::http
