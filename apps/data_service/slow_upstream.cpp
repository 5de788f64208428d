#include "slow_upstream.hpp"

#include <cstdio>

#include <halt/asio/delay.hpp>
#include <halt/http/access_log.hpp>
#include <halt/http/response.hpp>

namespace data_service {
namespace {

namespace asio = boost::asio;

halt::http::router upstream_routes(std::chrono::milliseconds delay) {
    halt::http::router routes;
    routes.map_get("/data", [delay](halt::http::request_context& ctx) -> asio::awaitable<halt::http::response> {
        // Stands for a slow database or API; the request's token cuts the wait short.
        co_await halt::delay(delay, ctx.request_aborted());
        co_return halt::http::make_response(halt::http::status::ok, "{\"answer\": 42}\n", "application/json");
    });
    return routes;
}

halt::http::server_options upstream_options() {
    halt::http::server_options options;
    options.port = 0;
    options.io_threads = 1;
    options.worker_threads = 1;
    options.handle_signals = false;  // data_service's own server handles them, then stops this one
    options.access_log = prefixed_access_log("[upstream] ");
    return options;
}

}  // namespace

slow_upstream::slow_upstream(std::chrono::milliseconds delay) : server_(upstream_routes(delay), upstream_options()) {}

void slow_upstream::start() { server_.start(); }

std::string slow_upstream::url() const {
    return "http://127.0.0.1:" + std::to_string(server_.local_endpoint().port()) + "/data";
}

void slow_upstream::stop() {
    server_.stop(std::chrono::seconds(1));
    server_.wait();
}

halt::http::access_log_sink prefixed_access_log(std::string prefix) {
    return [prefix = std::move(prefix)](const halt::http::access_log_entry& entry) {
        const std::string line = prefix + halt::http::format_access_log_line(entry) + '\n';
        std::fputs(line.c_str(), stderr);  // one call per line, so lines from threads never interleave
    };
}

}  // namespace data_service
