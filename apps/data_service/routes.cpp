#include "routes.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string_view>

#include <boost/asio/use_awaitable.hpp>

#include <halt/canceled_error.hpp>
#include <halt/http/access_log.hpp>
#include <halt/http/client_errc.hpp>
#include <halt/http/response.hpp>

namespace data_service {
namespace {

namespace asio = boost::asio;
using halt::http::request_context;
using halt::http::response;
using halt::http::status;

response bad_gateway(std::string reason) {
    reason += '\n';
    return halt::http::make_response(status::bad_gateway, std::move(reason));
}

asio::awaitable<response> fetch_data(halt::http::client& client, const std::string& upstream_url,
                                     request_context& ctx) {
    // The whole point: the request's token goes to the upstream call. A halt::canceled_error from it is
    // left to the server, which answers 504 for a deadline and writes nothing (logging 499) when the
    // caller is gone; the article's "500 Request cancelled" could never reach anyone.
    try {
        response reply = co_await client.get(upstream_url, ctx.request_aborted());
        // The budget sent upstream ends when ours does, so the upstream may time out a moment first:
        // that is our deadline too, not an upstream failure.
        if (reply.result() == status::gateway_timeout) {
            ctx.request_aborted().throw_if_cancellation_requested();
            co_return halt::http::make_response(status::gateway_timeout, "upstream ran out of time\n");
        }
        if (reply.result_int() < 200 || reply.result_int() > 299)
            co_return bad_gateway("upstream " + upstream_url + " answered " + std::to_string(reply.result_int()));
        co_return halt::http::make_response(status::ok, std::move(reply.body()),
                                            reply[halt::http::field::content_type]);
    } catch (const halt::http::client_error& failure) {
        co_return bad_gateway(failure.what());
    }
}

std::chrono::milliseconds requested_work(std::string_view query) {
    // ms=N anywhere in the query; 1000 when absent.
    constexpr std::string_view key = "ms=";
    for (std::size_t start = 0; start <= query.size();) {
        const std::size_t end = std::min(query.find('&', start), query.size());
        const std::string_view pair = query.substr(start, end - start);
        if (pair.starts_with(key)) {
            long long value = 0;
            const auto digits = pair.substr(key.size());
            const auto [last, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (error != std::errc{} || last != digits.data() + digits.size() || value < 0)
                throw std::invalid_argument("ms must be a whole number of milliseconds");
            return std::chrono::milliseconds(value);
        }
        start = end + 1;
    }
    return std::chrono::seconds(1);
}

response do_work(request_context& ctx) {
    std::chrono::milliseconds budget{};
    try {
        budget = requested_work(ctx.query());
    } catch (const std::invalid_argument& bad) {
        return halt::http::make_response(status::bad_request, std::string(bad.what()) + "\n");
    }
    const halt::token token = ctx.request_aborted();
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + budget;
    unsigned long long iterations = 0;
    // The article's loop: cooperative, it checks the token between slices of work.
    while (!token.is_cancellation_requested() && std::chrono::steady_clock::now() < end) {
        volatile unsigned long long sink = 0;
        for (int i = 0; i < 1000; ++i) sink = sink + static_cast<unsigned long long>(i);
        ++iterations;
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (token.is_cancellation_requested()) {
        std::fprintf(stderr, "[work] stopped after %llu iterations (%lld of %lld ms): %s\n", iterations,
                     static_cast<long long>(elapsed.count()), static_cast<long long>(budget.count()),
                     halt::http::reason_name(token.reason()).c_str());
        throw halt::canceled_error(token);  // 504 for a deadline; nothing is written for a gone client
    }
    return halt::http::make_response(status::ok, "worked " + std::to_string(elapsed.count()) + " ms, " +
                                                     std::to_string(iterations) + " iterations\n");
}

}  // namespace

halt::http::router make_routes(halt::http::client& client, std::string upstream_url) {
    halt::http::router routes;
    routes.map_get("/data", [&client, url = std::move(upstream_url)](request_context& ctx) -> asio::awaitable<response> {
        return fetch_data(client, url, ctx);
    });
    routes.map_get("/work", [](request_context& ctx) -> response { return do_work(ctx); });
    return routes;
}

}  // namespace data_service
