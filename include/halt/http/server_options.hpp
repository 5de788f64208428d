#pragma once
// halt::http::server_options: everything a server can be told, with defaults after Kestrel's.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <halt/http/access_log.hpp>
#include <halt/http/message.hpp>

namespace halt::http {

/// What a peer's half-close (it shut down its sending side: a FIN) means while its request runs.
enum class half_close_policy {
    /// The client is gone: cancel the request with errc::client_disconnected and write nothing
    /// (Kestrel's behaviour). The default.
    abort_request,
    /// The client only finished sending: let the request run, write its response, then close.
    finish_request,
};

/// A server's settings. Every duration is a whole number of milliseconds; a zero timeout means
/// "already expired", not "none".
struct server_options {
    // --- Listening --------------------------------------------------------------------------
    /// The address to bind: loopback unless told otherwise ("0.0.0.0" or "::" for every interface).
    std::string address = "127.0.0.1";
    /// The port; 0 picks a free one (read it back with server::local_endpoint()).
    std::uint16_t port = 8080;
    /// Threads running the io_context (connections and coroutine handlers); 0: one per CPU.
    unsigned io_threads = 0;
    /// Threads of the pool that runs blocking handlers; 0: one per CPU, at least 4.
    unsigned worker_threads = 0;
    /// Connections open at once; one more is accepted and closed at once (counted in
    /// connections_rejected_total). 0: no cap.
    std::size_t max_connections = 10'000;

    // --- Request deadlines ------------------------------------------------------------------
    /// The server's default request timeout, counted from the request's first byte; a route can
    /// override or disable it (route_options::timeout). std::nullopt: no default deadline.
    std::optional<std::chrono::milliseconds> request_timeout = std::chrono::seconds(30);
    /// What a request is answered when its deadline passed and its handler ended in
    /// halt::canceled_error, or when its caller's budget was already spent on arrival.
    status timeout_status = status::gateway_timeout;
    /// Whether an inbound X-Request-Timeout-Ms or grpc-timeout lowers the request's deadline. A
    /// malformed value is answered 400.
    bool honor_request_timeout_headers = true;
    /// See half_close_policy.
    half_close_policy half_close = half_close_policy::abort_request;

    // --- Limits against slow or hostile clients ---------------------------------------------
    /// The request line and fields together; more is answered 431.
    std::size_t max_request_header_bytes = 32 * 1024;
    /// The request body; more (by Content-Length or once read) is answered 413.
    std::uint64_t max_request_body_bytes = 30'000'000;
    /// From a request's first byte to the end of its header (slowloris); then 408 and close.
    std::chrono::milliseconds request_header_timeout = std::chrono::seconds(30);
    /// From the end of a request's header to the end of its body; then 408 and close.
    std::chrono::milliseconds request_body_timeout = std::chrono::seconds(60);
    /// How long a kept-alive connection may wait for its next request; then it is closed.
    std::chrono::milliseconds keep_alive_timeout = std::chrono::seconds(130);
    /// How long writing one response may take; then the connection is closed.
    std::chrono::milliseconds response_write_timeout = std::chrono::seconds(60);
    /// While a request runs the server keeps reading its connection, to notice a disconnect at
    /// once; what it reads (pipelined requests) is kept, up to this many bytes beyond the header
    /// limit. Past that it stops reading until the request ends, and a disconnect is noticed only
    /// then (when the response is written).
    std::size_t max_read_ahead_bytes = 64 * 1024;

    // --- Lifetime ---------------------------------------------------------------------------
    /// How long graceful shutdown waits for in-flight requests and background services before it
    /// cancels them with errc::shutting_down (HostOptions.ShutdownTimeout).
    std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(30);
    /// Whether SIGINT and SIGTERM begin graceful shutdown while the server runs (a second one cancels
    /// the rest at once). Turn it off when the application handles signals itself.
    bool handle_signals = true;

    // --- Observability ----------------------------------------------------------------------
    /// Whether `GET metrics_path` answers the server's metrics in Prometheus text format.
    bool enable_metrics = false;
    std::string metrics_path = "/metrics";
    /// Receives one entry per request; empty: no access log. Default: a line on stderr.
    access_log_sink access_log = stderr_access_log();
    /// Receives what goes wrong outside a response: a handler's exception (answered 500), a
    /// background service's failure. Empty: discarded. Default: a line on stderr. Called from server
    /// threads, possibly concurrently.
    std::function<void(std::string_view message)> error_log = [](std::string_view message) {
        std::string line = "halt::http: ";
        line.append(message).push_back('\n');
        std::fputs(line.c_str(), stderr);
    };
};

}  // namespace halt::http
