#pragma once
// halt::http::server: an HTTP/1.1 server on Boost.Beast whose every request carries a halt::token.

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <halt/http/lifetime.hpp>
#include <halt/http/metrics.hpp>
#include <halt/http/router.hpp>
#include <halt/http/server_options.hpp>
#include <halt/token.hpp>

namespace halt::http {

namespace detail {
class server_state;
}

/// A long-running task that lives as long as the server (BackgroundService.ExecuteAsync): a coroutine
/// given the lifetime's stopping token. It should return soon after that token fires; when the
/// shutdown timeout runs out it is cancelled at its next co_await, like a request.
using background_service = std::function<boost::asio::awaitable<void>(halt::token stopping)>;

/// Serves a router's routes over HTTP/1.1 (keep-alive, pipelining) on an io_context run by its own
/// threads, with the request token, deadlines, limits, graceful shutdown and metrics described on
/// request_context, server_options and lifetime.
///
///     halt::http::router routes;
///     routes.map_get("/hello", [](halt::http::request_context&) -> asio::awaitable<halt::http::response> {
///         co_return halt::http::make_response(halt::http::status::ok, "hello\n");
///     });
///     halt::http::server server(std::move(routes));   // 127.0.0.1:8080; see server_options
///     return server.run();   // until SIGINT / SIGTERM, then graceful shutdown
///
/// Shutdown (SIGINT, SIGTERM, stop(), lifetime().stop_application()): lifetime().stopping() fires,
/// the listener closes, idle connections close and busy ones answer their current request with
/// `Connection: close`; requests and background services get shutdown_timeout to finish, then their
/// tokens are cancelled with errc::shutting_down (a request is then answered 503). Once every
/// connection and service has ended, lifetime().stopped() fires and run() returns 0. Cancellation is
/// cooperative: a blocking handler that never looks at its token holds shutdown until it returns.
///
/// Members are thread-safe unless stated otherwise.
class server {
public:
    /// Prepares a server for `routes`; nothing is bound yet. Adds the metrics route when
    /// options.enable_metrics. Throws std::invalid_argument if the metrics path is already routed.
    explicit server(router routes, server_options options = {});
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// If still running: stop() with no grace period, then wait(). Blocks until every thread ended.
    ~server();

    /// Adds a background service, started with the server. Only before start(); otherwise throws
    /// std::logic_error. Not thread-safe against start().
    void add_background_service(background_service service);

    /// Binds and listens, starts the io threads, the worker pool and the background services, then
    /// fires lifetime().started(). Returns once the server accepts connections. Throws
    /// boost::system::system_error if the address cannot be bound, std::logic_error if called twice.
    void start();

    /// start(), then wait(): serves until shutdown is complete, and returns the process exit code, 0.
    int run();

    /// Begins graceful shutdown with options.shutdown_timeout; returns at once. Idempotent: a later
    /// call can only shorten the grace period. Before start(), the server stops as soon as it starts.
    void stop();

    /// As stop(), with `grace` instead of options.shutdown_timeout (zero: cancel every request now).
    void stop(std::chrono::milliseconds grace);

    /// Blocks until shutdown is complete and every server thread has ended. Returns at once if the
    /// server never started.
    void wait();

    /// As wait(), for at most `timeout`; true when the server has stopped (its threads are then
    /// joined), false on timeout.
    bool wait_for(std::chrono::milliseconds timeout);

    /// The bound address and port; valid after start() (the port is the one picked when options.port
    /// was 0).
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// The application's lifetime tokens.
    http::lifetime& lifetime() noexcept;

    /// The server's counters (what /metrics shows).
    const http::metrics& metrics() const noexcept;

    /// The io_context's executor, for work of the application's own.
    boost::asio::any_io_executor get_executor() const noexcept;

private:
    std::unique_ptr<detail::server_state> state_;
};

}  // namespace halt::http
