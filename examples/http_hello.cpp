// A tiny halt::http server: a fast route, a slow one that honours its request token, the article's
// blocking loop on the worker pool, and a background service. Try, while it runs:
//
//   curl localhost:8080/hello
//   curl --max-time 1 localhost:8080/slow                  # the log shows 499 reason=client_disconnected
//   curl -H 'X-Request-Timeout-Ms: 200' localhost:8080/slow # 504 after 200 ms, reason=deadline_exceeded
//   curl localhost:8080/metrics
//
// Ctrl-C (SIGINT) or SIGTERM stops it gracefully. Usage: http_hello [port]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <halt/asio.hpp>
#include <halt/http/response.hpp>
#include <halt/http/server.hpp>

namespace asio = boost::asio;
namespace http = halt::http;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
    http::router routes;

    routes.map_get("/hello", [](http::request_context&) -> asio::awaitable<http::response> {
        co_return http::make_response(http::status::ok, "hello\n");
    });

    // Ten seconds of "work" that stops the moment the client leaves or the deadline passes: the delay
    // throws halt::canceled_error, and the server answers 504 for a deadline, nothing for a client gone.
    http::route_options slow_route;
    slow_route.timeout = http::route_timeout::after(30s);
    routes.map_get("/slow", [](http::request_context& ctx) -> asio::awaitable<http::response> {
        co_await halt::delay(10s, ctx.request_aborted());
        co_return http::make_response(http::status::ok, "slow and steady\n");
    }, slow_route);

    // A blocking handler runs on the worker pool and polls its token, as in .NET.
    routes.map_get("/count/{limit}", [](http::request_context& ctx) {
        const halt::token token = ctx.request_aborted();
        const long limit = std::atol(std::string(ctx.path_parameter("limit")).c_str());
        long counted = 0;
        while (!token.is_cancellation_requested() && counted < limit) ++counted;
        token.throw_if_cancellation_requested();
        return http::make_response(http::status::ok, std::to_string(counted) + "\n");
    });

    http::server_options options;
    options.port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1])) : 8080;
    options.enable_metrics = true;
    http::server server(std::move(routes), options);

    // A background service: runs until the host begins to stop (BackgroundService.ExecuteAsync).
    server.add_background_service([](halt::token stopping) -> asio::awaitable<void> {
        while (!stopping.is_cancellation_requested()) {
            try {
                co_await halt::delay(60s, stopping);
            } catch (const halt::canceled_error&) {
                break;
            }
            std::fputs("still serving\n", stderr);
        }
    });

    std::fprintf(stderr, "listening on http://127.0.0.1:%u\n", static_cast<unsigned>(options.port));
    return server.run();
}
