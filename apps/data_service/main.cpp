// data_service: the article's DataController, done right.
//
// GET /data calls an upstream with the request's token, so when the caller goes away the upstream
// call is aborted at once; deadlines travel to the upstream as X-Request-Timeout-Ms. Without
// --upstream it starts a slow upstream of its own, so that it runs with nothing else installed.
// SIGINT / SIGTERM shut it down gracefully.

#include <cstdio>
#include <exception>
#include <optional>
#include <span>

#include <boost/system/system_error.hpp>

#include <halt/http/client.hpp>
#include <halt/http/server.hpp>

#include "options.hpp"
#include "routes.hpp"
#include "slow_upstream.hpp"

namespace {

halt::http::server_options server_options_from(const data_service::options& options) {
    halt::http::server_options server;
    server.address = options.listen_host;
    server.port = options.listen_port;
    server.request_timeout = options.request_timeout;
    server.shutdown_timeout = options.shutdown_timeout;
    server.enable_metrics = true;
    server.access_log = data_service::prefixed_access_log("[data] ");
    return server;
}

int serve(const data_service::options& options) {
    std::optional<data_service::slow_upstream> embedded;
    std::string upstream_url = options.upstream;
    if (upstream_url.empty()) {
        embedded.emplace(options.upstream_delay);
        embedded->start();
        upstream_url = embedded->url();
    }
    // The client runs on its own io thread; it outlives the server whose routes use it.
    halt::http::blocking_client upstream_client;
    halt::http::server server(data_service::make_routes(upstream_client.async_client(), upstream_url),
                              server_options_from(options));
    server.start();
    const auto endpoint = server.local_endpoint();
    std::fprintf(stderr, "data_service listening on http://%s:%u (GET /data, /work?ms=N, /metrics); upstream %s%s\n",
                 endpoint.address().to_string().c_str(), static_cast<unsigned>(endpoint.port()), upstream_url.c_str(),
                 embedded ? " (embedded)" : "");
    server.wait();
    if (embedded) embedded->stop();
    std::fputs("data_service stopped\n", stderr);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<data_service::options> options;
    try {
        options = data_service::parse_options(std::span<char* const>(argv + 1, static_cast<std::size_t>(argc - 1)));
    } catch (const data_service::usage_error& bad) {
        std::fprintf(stderr, "data_service: %s\n\n%s", bad.what(), data_service::usage_text());
        return 2;
    }
    if (!options) {
        std::fputs(data_service::usage_text(), stdout);
        return 0;
    }
    try {
        return serve(*options);
    } catch (const boost::system::system_error& failure) {
        std::fprintf(stderr, "data_service: cannot serve on %s:%u: %s\n", options->listen_host.c_str(),
                     static_cast<unsigned>(options->listen_port), failure.code().message().c_str());
        return 1;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "data_service: %s\n", failure.what());
        return 1;
    }
}
