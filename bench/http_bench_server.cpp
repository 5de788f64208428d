// The halt::http side of bench/http_bench.sh: one trivial route, "/", answering the same bytes as
// bench/beast_baseline.cpp. Every request still gets its token, its deadline (the default 30 s request
// timeout), its read-ahead disconnect watcher and its coroutine; only the access log is off (the
// baseline has none).
//
//   http_bench_server <port> <io threads> [--no-timeout]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <halt/http/response.hpp>
#include <halt/http/server.hpp>

namespace http = halt::http;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <port> <io threads> [--no-timeout]\n", argv[0]);
        return 2;
    }
    http::router routes;
    routes.map_get("/", [](http::request_context&) -> boost::asio::awaitable<http::response> {
        co_return http::make_response(http::status::ok, "Hello, world!", "text/plain");
    });
    http::server_options options;
    options.port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    options.io_threads = static_cast<unsigned>(std::atoi(argv[2]));
    options.worker_threads = 1;
    options.access_log = nullptr;
    options.shutdown_timeout = std::chrono::seconds(1);
    if (argc > 3 && std::strcmp(argv[3], "--no-timeout") == 0) options.request_timeout.reset();
    http::server server(std::move(routes), options);
    return server.run();
}
