// The server's parts, without a server: the router, the timeout headers, the request context, the
// metrics and the access log.

#include <chrono>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <halt/errc.hpp>
#include <halt/http/access_log.hpp>
#include <halt/http/metrics.hpp>
#include <halt/http/request_context.hpp>
#include <halt/http/request_timeout.hpp>
#include <halt/http/response.hpp>
#include <halt/http/router.hpp>
#include <halt/source.hpp>

namespace {

namespace http = halt::http;
using namespace std::chrono_literals;

http::response blocking_ok(http::request_context&) { return http::make_response(http::status::ok); }

// --- request_timeout.hpp ----------------------------------------------------------------------

TEST(RequestTimeout, ParsesMilliseconds) {
    EXPECT_EQ(http::parse_request_timeout_ms("250"), 250ms);
    EXPECT_EQ(http::parse_request_timeout_ms(" 0\t"), 0ms);
    EXPECT_EQ(http::parse_request_timeout_ms("-12"), -12ms);
    EXPECT_EQ(http::parse_request_timeout_ms("99999999999999999999999999"), std::chrono::milliseconds::max());
    for (const char* bad : {"", " ", "-", "1.5", "12ms", "+3", "1 2", "0x10"}) {
        EXPECT_FALSE(http::parse_request_timeout_ms(bad)) << bad;
    }
}

TEST(RequestTimeout, ParsesGrpcTimeouts) {
    EXPECT_EQ(http::parse_grpc_timeout("1H"), std::chrono::hours(1));
    EXPECT_EQ(http::parse_grpc_timeout("2M"), std::chrono::minutes(2));
    EXPECT_EQ(http::parse_grpc_timeout("3S"), 3s);
    EXPECT_EQ(http::parse_grpc_timeout("100m"), 100ms);
    EXPECT_EQ(http::parse_grpc_timeout("7u"), 7us);
    EXPECT_EQ(http::parse_grpc_timeout("12345678n"), 12345678ns);
    EXPECT_EQ(http::parse_grpc_timeout(" 5S "), 5s);
    EXPECT_EQ(http::parse_grpc_timeout("99999999H"), std::chrono::nanoseconds::max()) << "saturates";
    for (const char* bad : {"", "S", "5", "123456789S", "5s", "5h", "-5S", "5 S", "a5S"}) {
        EXPECT_FALSE(http::parse_grpc_timeout(bad)) << bad;
    }
}

TEST(RequestTimeout, FormatsRoundingDown) {
    EXPECT_EQ(http::format_request_timeout_ms(1999us), "1");
    EXPECT_EQ(http::format_request_timeout_ms(-5ms), "0");
    EXPECT_EQ(http::format_grpc_timeout(250ms), "250000u");
    EXPECT_EQ(http::format_grpc_timeout(5s), "5000000u");
    EXPECT_EQ(http::format_grpc_timeout(std::chrono::hours(30)), "108000S");
    EXPECT_EQ(http::format_grpc_timeout(std::chrono::hours(24 * 365 * 100)), "52560000M");
    EXPECT_EQ(http::format_grpc_timeout(-1ns), "0n");
    for (const std::chrono::nanoseconds budget : {1ns, std::chrono::nanoseconds(999ms), std::chrono::nanoseconds(7s),
                                                  std::chrono::nanoseconds(std::chrono::hours(1000))}) {
        const auto parsed = http::parse_grpc_timeout(http::format_grpc_timeout(budget));
        ASSERT_TRUE(parsed);
        EXPECT_LE(*parsed, budget);
    }
}

// --- router.hpp -------------------------------------------------------------------------------

TEST(Router, MatchesLiteralsBeforeParametersBeforeCatchAll) {
    http::router routes;
    routes.map_get("/items/{id}", blocking_ok)
        .map_get("/items/new", blocking_ok)
        .map_get("/files/{*path}", blocking_ok)
        .map_get("/", blocking_ok);

    auto found = routes.match(http::verb::get, "/items/new");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.route->pattern, "/items/new");

    found = routes.match(http::verb::get, "/items/42/");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.route->pattern, "/items/{id}");
    ASSERT_EQ(found.parameters.size(), 1u);
    EXPECT_EQ(found.parameters[0].first, "id");
    EXPECT_EQ(found.parameters[0].second, "42");

    found = routes.match(http::verb::get, "/items/a%2Fb");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.parameters[0].second, "a/b") << "decoded after splitting";

    found = routes.match(http::verb::get, "/files/a/b%20c.txt");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.parameters[0].second, "a/b c.txt");
    found = routes.match(http::verb::get, "/files");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.parameters[0].second, "");

    EXPECT_NE(routes.match(http::verb::get, "/").route, nullptr);
    EXPECT_EQ(routes.match(http::verb::get, "/items").route, nullptr);
    EXPECT_EQ(routes.match(http::verb::get, "/items/1/2").route, nullptr);
    EXPECT_EQ(routes.match(http::verb::get, "/items//").route, nullptr) << "a parameter is never empty";
}

TEST(Router, ReportsAllowedMethodsAndFallsBackFromHeadToGet) {
    http::router routes;
    routes.map_get("/a/{x}", blocking_ok).map_put("/a/{y}", blocking_ok);
    auto found = routes.match(http::verb::post, "/a/1");
    EXPECT_EQ(found.route, nullptr);
    EXPECT_EQ(found.allowed_methods, (std::vector<http::verb>{http::verb::get, http::verb::put, http::verb::head}));

    found = routes.match(http::verb::put, "/a/1");
    ASSERT_NE(found.route, nullptr);
    EXPECT_EQ(found.parameters[0].first, "y") << "each method keeps its own parameter names";

    found = routes.match(http::verb::head, "/a/1");
    ASSERT_NE(found.route, nullptr);
    EXPECT_TRUE(found.head_as_get);
    EXPECT_EQ(found.route->method, http::verb::get);
}

TEST(Router, RejectsMalformedAndDuplicatePatterns) {
    http::router routes;
    routes.map_get("/x/{id}", blocking_ok);
    EXPECT_THROW(routes.map_get("/x/{other}", blocking_ok), std::invalid_argument);
    for (const char* bad : {"", "x", "/a//b", "/{}", "/{id", "/a{id}", "/{*rest}/more", "/{a}/{a}", "/{*}"}) {
        EXPECT_THROW(routes.map_get(bad, blocking_ok), std::invalid_argument) << bad;
    }
    EXPECT_THROW(routes.map(http::verb::get, "/empty", http::blocking_handler{}), std::invalid_argument);
    EXPECT_EQ(routes.routes().size(), 1u);
}

TEST(Router, KnowsCoroutineFromBlockingHandlersAndCopies) {
    http::router routes;
    routes.map_get("/c", [](http::request_context&) -> boost::asio::awaitable<http::response> {
        co_return http::make_response(http::status::ok);
    });
    routes.map_get("/b", [](http::request_context&) { return http::make_response(http::status::ok); });
    http::route_options options;
    options.timeout = http::route_timeout::after(1500us);
    routes.map_post("/t", blocking_ok, options);

    const http::router copy = routes;
    ASSERT_EQ(copy.routes().size(), 3u);
    EXPECT_TRUE(copy.routes()[0]->coroutine && !copy.routes()[0]->blocking);
    EXPECT_TRUE(copy.routes()[1]->blocking && !copy.routes()[1]->coroutine);
    EXPECT_EQ(copy.routes()[2]->options.timeout.limit(), 2ms) << "rounded up";
    EXPECT_EQ(copy.routes()[2]->index, 2u);
    EXPECT_NE(copy.match(http::verb::post, "/t").route, nullptr);
    EXPECT_TRUE(http::route_options{}.timeout.is_server_default());
    EXPECT_TRUE(http::route_timeout::disabled().is_disabled());
}

// --- request_context.hpp ------------------------------------------------------------------------

TEST(RequestContext, UsableWithoutAServer) {
    halt::source aborted;
    http::request message(http::verb::get, "/search?q=halt&n=2", 11);
    http::request_context context(std::move(message), aborted.token());
    EXPECT_EQ(context.path(), "/search");
    EXPECT_EQ(context.query(), "q=halt&n=2");
    EXPECT_TRUE(context.route().empty());
    EXPECT_FALSE(context.find_path_parameter("id"));
    EXPECT_THROW((void)context.path_parameter("id"), std::out_of_range);
    EXPECT_THROW((void)context.application_lifetime(), std::logic_error);
    EXPECT_FALSE(context.deadline());
    aborted.cancel_after(1h);
    EXPECT_TRUE(context.deadline());
    aborted.cancel(halt::errc::client_disconnected);
    EXPECT_EQ(context.request_aborted().reason(), halt::errc::client_disconnected);
    static_assert(std::is_same_v<decltype(context.request_aborted()), halt::token>);
}

// --- metrics.hpp and access_log.hpp --------------------------------------------------------------

TEST(Metrics, CountsAndRendersPrometheusText) {
    http::metrics counters({"/a", "/b\"\\"});
    counters.record_request(0, 200, 2ms);
    counters.record_request(0, 200, 3ms);
    counters.record_request(1, 499, 1ms);
    counters.record_request(99, 404, 1ms);
    counters.record_request(0, 42, 1ms);
    counters.record_cancellation(halt::errc::client_disconnected);
    counters.record_cancellation(std::make_error_code(std::errc::timed_out));
    counters.record_cancel_to_exit(300us);
    counters.request_started();

    EXPECT_EQ(counters.requests("/a", 200), 2u);
    EXPECT_EQ(counters.requests("/a", 599), 1u) << "out-of-range statuses count as 599";
    EXPECT_EQ(counters.requests(http::metrics::unmatched_route, 404), 1u);
    EXPECT_EQ(counters.requests("/nope", 200), 0u);
    EXPECT_EQ(counters.cancellations(halt::errc::client_disconnected), 1u);
    EXPECT_EQ(counters.cancellations(halt::errc::canceled), 1u) << "other reasons share one counter";
    EXPECT_EQ(counters.in_flight(), 1);

    const std::string text = counters.prometheus_text();
    for (const char* line : {
             "halt_http_requests_total{route=\"/a\",status=\"200\"} 2\n",
             "halt_http_requests_total{route=\"/b\\\"\\\\\",status=\"499\"} 1\n",
             "halt_http_requests_total{route=\"(unmatched)\",status=\"404\"} 1\n",
             "halt_http_requests_in_flight 1\n",
             "halt_http_request_cancellations_total{reason=\"other\"} 1\n",
             "halt_http_cancel_to_exit_seconds_bucket{le=\"0.00025\"} 0\n",
             "halt_http_cancel_to_exit_seconds_bucket{le=\"0.0005\"} 1\n",
             "halt_http_cancel_to_exit_seconds_bucket{le=\"+Inf\"} 1\n",
             "halt_http_cancel_to_exit_seconds_sum 0.0003\n",
             "halt_http_request_duration_seconds_count 5\n",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
    }
}

TEST(AccessLog, FormatsOneLine) {
    http::access_log_entry entry;
    entry.remote_endpoint = {boost::asio::ip::make_address("127.0.0.1"), 5000};
    entry.method = "GET";
    entry.target = "/slow?x=1";
    entry.route = "/slow";
    entry.status = 499;
    entry.duration = 1500ms;
    entry.reason = halt::errc::client_disconnected;
    entry.cancel_to_exit = 41us;
    EXPECT_EQ(http::format_access_log_line(entry),
              "127.0.0.1:5000 \"GET /slow?x=1\" 499 1500.000ms reason=client_disconnected cancel_to_exit=0.041ms "
              "route=/slow no_response");
    EXPECT_EQ(http::reason_name({}), "-");
    EXPECT_EQ(http::reason_name(halt::errc::deadline_exceeded), "deadline_exceeded");
    EXPECT_EQ(http::reason_name(halt::errc::shutting_down), "shutting_down");
}

TEST(Response, MakeResponseSetsStatusBodyAndType) {
    const http::response reply = http::make_response(http::status::created, "made", "text/x");
    EXPECT_EQ(reply.result(), http::status::created);
    EXPECT_EQ(reply.body(), "made");
    EXPECT_EQ(reply[http::field::content_type], "text/x");
    EXPECT_EQ(http::make_status_response(http::status::not_found).body(), "Not Found\n");
}

}  // namespace
