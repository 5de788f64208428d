#pragma once
// halt::http::request_context: what a handler gets for one request (ASP.NET Core's HttpContext).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include <halt/http/message.hpp>
#include <halt/token.hpp>

namespace halt::http {

class lifetime;

namespace detail {
struct context_access;
}

/// One request as its handler sees it: the message, the request's token, the route's path
/// parameters and where the request came from.
///
/// The server owns it and keeps it alive until the handler has finished (a coroutine handler's last
/// resumption, a blocking handler's return), so a handler may hold references into it throughout.
/// The server does not touch it while the handler runs: a handler may use it from any one thread at
/// a time (a blocking handler on the worker pool, a coroutine on the connection's executor). Only
/// request_aborted()'s token changes under it, and tokens are thread-safe.
class request_context {
public:
    /// A context for `message` whose token is `aborted`: what a test needs to call a handler without a
    /// server. route() and remote_endpoint() are then empty and there are no path parameters.
    explicit request_context(http::request message, halt::token aborted = {}) noexcept
        : request_(std::move(message)), aborted_(std::move(aborted)) {}

    request_context(const request_context&) = delete;
    request_context& operator=(const request_context&) = delete;

    /// The request: start line, fields and the whole body. Mutable, so that a handler can move the
    /// body out.
    http::request& request() noexcept { return request_; }
    const http::request& request() const noexcept { return request_; }

    /// The request's token (HttpContext.RequestAborted). It is cancelled, once, with the reason:
    /// - halt::errc::client_disconnected: the peer closed or reset the connection while the request
    ///   ran (a half-close too, unless server_options::half_close says otherwise). No response is
    ///   written; the request is logged with status 499.
    /// - halt::errc::deadline_exceeded: the request's deadline passed (the route's timeout, or a
    ///   shorter budget sent by the caller in X-Request-Timeout-Ms or grpc-timeout). A handler that
    ///   then ends in halt::canceled_error is answered 504 (server_options::timeout_status).
    /// - halt::errc::shutting_down: graceful shutdown's timeout ran out before the request finished.
    /// Callbacks registered on it run on the thread that cancels: an io thread of the server, or
    /// halt's timer thread for the deadline. One relaxed atomic increment; never throws.
    halt::token request_aborted() const noexcept { return aborted_; }

    /// When the request's token cancels itself with deadline_exceeded; empty when the request has no
    /// deadline. Pass it on to calls the handler makes (halt's client sends what is left of it).
    std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept { return aborted_.deadline(); }

    /// The path of the request target, as sent (not percent-decoded), without the query.
    std::string_view path() const noexcept;

    /// The query of the request target, without the '?'; empty when there is none.
    std::string_view query() const noexcept;

    /// The pattern of the route that matched ("/items/{id}"); empty outside the server.
    std::string_view route() const noexcept { return route_; }

    /// The percent-decoded value of the path parameter `name` ("{id}" in the route's pattern).
    /// Throws std::out_of_range if the route has no parameter of that name (a programming error).
    std::string_view path_parameter(std::string_view name) const;

    /// As path_parameter, but std::nullopt instead of throwing.
    std::optional<std::string_view> find_path_parameter(std::string_view name) const noexcept;

    /// The peer's address and port; a default endpoint outside the server.
    const boost::asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_endpoint_; }

    /// The server's application lifetime (started, stopping, stopped, stop_application()). Throws
    /// std::logic_error outside a server.
    http::lifetime& application_lifetime() const;

private:
    friend struct detail::context_access;

    http::request request_;
    halt::token aborted_;
    std::string_view route_;
    std::vector<std::pair<std::string_view, std::string>> parameters_;
    boost::asio::ip::tcp::endpoint remote_endpoint_;
    http::lifetime* lifetime_ = nullptr;
};

}  // namespace halt::http
