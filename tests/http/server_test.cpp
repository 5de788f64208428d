// halt::http::server against real sockets on 127.0.0.1: routing, keep-alive and pipelining, the request
// token (client_disconnected, deadline_exceeded), deadlines that travel, limits and bad input, and curl.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>
#include <halt/http/response.hpp>
#include <halt/http/server.hpp>

#include "../child_process.hpp"
#include "server_harness.hpp"

extern char** environ;

namespace {

using namespace halt_http_test;
namespace http = halt::http;
using http::request_context;
using awaitable_response = asio::awaitable<http::response>;

/// What a handler that waits for its token saw.
struct observed {
    event started;
    slot<std::error_code> reason;
    event exited;
};

/// A coroutine route that never reads anything and only ends when its token is cancelled.
http::handler wait_for_cancellation(observed& seen) {
    return [&seen](request_context& ctx) -> awaitable_response {
        const halt::token tok = ctx.request_aborted();
        seen.started.set();
        try {
            co_await halt::delay(std::chrono::hours(1), tok);
        } catch (const halt::canceled_error& e) {
            seen.reason.set(e.code());
            seen.exited.set();
            throw;
        }
        seen.exited.set();
        co_return http::make_response(http::status::ok, "not cancelled\n");
    };
}

// --- Routing, keep-alive, pipelining ----------------------------------------------------------

TEST(Server, BindsLoopbackByDefaultWithThirtySecondShutdownTimeout) {
    const http::server_options defaults;
    EXPECT_EQ(defaults.address, "127.0.0.1");
    EXPECT_EQ(defaults.shutdown_timeout, std::chrono::seconds(30));
    EXPECT_EQ(defaults.half_close, http::half_close_policy::abort_request);
    EXPECT_EQ(defaults.timeout_status, http::status::gateway_timeout);

    log_recorder log;
    http::server_options options = test_options(log);
    options.address = defaults.address;
    running_server server(http::router{}, options);
    EXPECT_TRUE(server.endpoint().address().is_loopback());
    EXPECT_NE(server.port(), 0);

    // A port in use: start() throws, and the server is still destroyed without waiting for anything.
    http::server_options taken = options;
    taken.port = server.port();
    http::server second(http::router{}, taken);
    EXPECT_THROW(second.start(), boost::system::system_error);
}

TEST(Server, RoutesWithPathParametersAnd404And405) {
    http::router routes;
    routes.map_get("/items/{id}", [](request_context& ctx) -> awaitable_response {
        co_return http::make_response(http::status::ok, "item " + std::string(ctx.path_parameter("id")));
    });
    routes.map_delete("/items/{id}", [](request_context&) -> awaitable_response {
        co_return http::make_response(http::status::no_content);
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/items/a%20b?x=1")));
    auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 200);
    EXPECT_EQ(reply->body(), "item a b");
    EXPECT_TRUE(reply->keep_alive());

    ASSERT_TRUE(client.send(get("/nothing/here")));
    reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 404);

    ASSERT_TRUE(client.send("POST /items/7 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
    reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 405);
    EXPECT_NE(std::string((*reply)[http::field::allow]).find("DELETE"), std::string::npos);

    // HEAD falls back to GET and gets the header only.
    ASSERT_TRUE(client.send("HEAD /items/9 HTTP/1.1\r\nHost: t\r\n\r\n"));
    reply = client.read_response(hang_limit, /*head=*/true);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 200);
    EXPECT_EQ((*reply)[http::field::content_length], "6");
    EXPECT_TRUE(reply->body().empty());

    const auto entry = log.wait_for("/items/a%20b?x=1");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->route, "/items/{id}");
    EXPECT_EQ(entry->status, 200u);
    EXPECT_FALSE(entry->reason);
}

TEST(Server, PipelinedRequestsAreAnsweredInOrderOnOneKeptAliveConnection) {
    http::router routes;
    routes.map_get("/echo/{n}", [](request_context& ctx) -> awaitable_response {
        const std::string n(ctx.path_parameter("n"));
        // The first request is the slowest: its answer must still come first.
        if (n == "1") co_await halt::delay(std::chrono::milliseconds(30));
        co_return http::make_response(http::status::ok, n);
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/echo/1") + get("/echo/2") + get("/echo/3")));
    for (const char* expected : {"1", "2", "3"}) {
        const auto reply = client.read_response();
        ASSERT_TRUE(reply) << client.last_error().message();
        EXPECT_EQ(reply->body(), expected);
    }
    ASSERT_TRUE(client.send(get("/echo/4", "Connection: close\r\n")));
    const auto last = client.read_response();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->body(), "4");
    EXPECT_FALSE(last->keep_alive());
    EXPECT_TRUE(client.wait_closed());
}

TEST(Server, ExpectContinueGetsAnInterimResponse) {
    http::router routes;
    routes.map_post("/upload", [](request_context& ctx) -> awaitable_response {
        co_return http::make_response(http::status::ok, std::to_string(ctx.request().body().size()));
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    const auto interim = client.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->result_int(), 100);
    ASSERT_TRUE(client.send("hello"));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body(), "5");
}

TEST(Server, HandlerExceptionIsAnswered500AndLogged) {
    http::router routes;
    routes.map_get("/throws", [](request_context&) -> awaitable_response {
        throw std::runtime_error("boom");
        co_return http::response();
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));
    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/throws")));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 500);
    ASSERT_TRUE(log.wait_for("/throws"));
    const auto errors = log.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("boom"), std::string::npos);
}

// --- The request token: client_disconnected ---------------------------------------------------

TEST(Server, DisconnectMidHandlerFiresClientDisconnectedAndLogs499) {
    observed seen;
    http::router routes;
    routes.map_get("/hang", wait_for_cancellation(seen));
    log_recorder log;
    http::server_options options = test_options(log);
    options.request_timeout.reset();
    running_server server(std::move(routes), options);

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/hang")));
    ASSERT_TRUE(seen.started.wait());
    client.close();  // FIN while the handler runs and reads nothing

    const auto reason = seen.reason.wait();
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, halt::errc::client_disconnected);
    const auto entry = log.wait_for("/hang");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 499u);
    EXPECT_FALSE(entry->written);
    EXPECT_EQ(entry->reason, halt::errc::client_disconnected);
    ASSERT_TRUE(entry->cancel_to_exit);
    EXPECT_EQ(server->metrics().cancellations(halt::errc::client_disconnected), 1u);
    EXPECT_EQ(server->metrics().requests("/hang", 499), 1u);
    EXPECT_EQ(server->metrics().cancel_to_exit_count(), 1u);
}

TEST(Server, ResetMidHandlerFiresClientDisconnected) {
    observed seen;
    http::router routes;
    routes.map_get("/hang", wait_for_cancellation(seen));
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/hang")));
    ASSERT_TRUE(seen.started.wait());
    client.reset();
    const auto reason = seen.reason.wait();
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, halt::errc::client_disconnected);
    const auto entry = log.wait_for("/hang");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 499u);
}

TEST(Server, BlockingHandlerOnTheWorkerPoolSeesTheDisconnect) {
    event started;
    slot<std::error_code> reason;
    http::router routes;
    routes.map_get("/spin", [&](request_context& ctx) {
        const halt::token tok = ctx.request_aborted();
        started.set();
        // The article's loop, bounded: at most hang_limit of polling.
        for (int i = 0; i < 3000 && !tok.is_cancellation_requested(); ++i) tok.wait_for(10ms);
        reason.set(tok.reason());
        return http::make_response(http::status::ok, "done\n");
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/spin")));
    ASSERT_TRUE(started.wait());
    client.close();
    const auto seen = reason.wait();
    ASSERT_TRUE(seen);
    EXPECT_EQ(*seen, halt::errc::client_disconnected);
    const auto entry = log.wait_for("/spin");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 499u);
    EXPECT_FALSE(entry->written);
}

TEST(Server, HalfCloseAbortsByDefaultAndFinishesUnderThePolicy) {
    for (const auto policy : {http::half_close_policy::abort_request, http::half_close_policy::finish_request}) {
        const bool aborts = policy == http::half_close_policy::abort_request;
        SCOPED_TRACE(aborts ? "abort_request" : "finish_request");
        event started;
        halt::source release;
        slot<std::error_code> reason;
        http::router routes;
        routes.map_get("/half", [&](request_context& ctx) -> awaitable_response {
            started.set();
            try {
                co_await halt::async_wait(release.token(), asio::use_awaitable);
            } catch (...) {
                reason.set(ctx.request_aborted().reason());
                throw;
            }
            reason.set(std::error_code());
            co_return http::make_response(http::status::ok, "finished");
        });
        log_recorder log;
        http::server_options options = test_options(log);
        options.half_close = policy;
        running_server server(std::move(routes), options);

        raw_client client(server.endpoint());
        ASSERT_TRUE(client.send(get("/half")));
        ASSERT_TRUE(started.wait());
        client.shutdown_send();  // FIN; the client still reads
        if (aborts) {
            const auto seen = reason.wait();
            ASSERT_TRUE(seen);
            EXPECT_EQ(*seen, halt::errc::client_disconnected);
            EXPECT_FALSE(client.read_response());  // nothing is written
            const auto entry = log.wait_for("/half");
            ASSERT_TRUE(entry);
            EXPECT_EQ(entry->status, 499u);
        } else {
            // A negative check, so it must wait a little: the FIN must not cancel the request.
            EXPECT_FALSE(reason.wait(100ms));
            release.cancel();
            const auto reply = client.read_response();
            ASSERT_TRUE(reply) << client.last_error().message();
            EXPECT_EQ(reply->body(), "finished");
            EXPECT_TRUE(client.wait_closed());
        }
    }
}

// --- The request token: deadline_exceeded ---------------------------------------------------

TEST(Server, RouteTimeoutCancelsWithDeadlineExceededAndAnswers504) {
    observed seen;
    http::router routes;
    http::route_options short_timeout;
    short_timeout.timeout = http::route_timeout::after(100ms);
    routes.map_get("/slow", wait_for_cancellation(seen), short_timeout);
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/slow")));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 504);
    const auto reason = seen.reason.wait();
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, halt::errc::deadline_exceeded);
    const auto entry = log.wait_for("/slow");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 504u);
    EXPECT_EQ(entry->reason, halt::errc::deadline_exceeded);
    EXPECT_TRUE(entry->cancel_to_exit);
    EXPECT_EQ(server->metrics().cancellations(halt::errc::deadline_exceeded), 1u);
}

TEST(Server, HandlerIgnoringItsTokenStillStopsAtItsNextAwait) {
    event started;
    http::router routes;
    http::route_options short_timeout;
    short_timeout.timeout = http::route_timeout::after(50ms);
    routes.map_get("/ignores", [&](request_context&) -> awaitable_response {
        started.set();
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
        co_await timer.async_wait(asio::use_awaitable);  // no token anywhere
        co_return http::make_response(http::status::ok);
    }, short_timeout);
    log_recorder log;
    http::server_options options = test_options(log);
    options.timeout_status = http::status::service_unavailable;  // configurable
    running_server server(std::move(routes), options);

    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send(get("/ignores")));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 503);
    const auto entry = log.wait_for("/ignores");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->reason, halt::errc::deadline_exceeded);
}

TEST(Server, DeadlinesComeFromTheServerTheRouteAndTheCaller) {
    slot<std::optional<std::chrono::steady_clock::time_point>> deadline;
    http::router routes;
    const auto report = [&](request_context& ctx) -> awaitable_response {
        deadline.set(ctx.deadline());
        co_return http::make_response(http::status::ok);
    };
    http::route_options none;
    none.timeout = http::route_timeout::disabled();
    routes.map_get("/default", report);
    routes.map_get("/none", report, none);
    log_recorder log;
    http::server_options options = test_options(log);
    options.request_timeout = std::chrono::minutes(10);
    running_server server(std::move(routes), options);
    const auto read_deadline = [&](const std::string& request) {
        deadline.reset();
        raw_client client(server.endpoint());
        EXPECT_TRUE(client.send(request));
        EXPECT_TRUE(client.read_response());
        return deadline.wait();
    };

    const auto before = std::chrono::steady_clock::now();
    auto seen = read_deadline(get("/default"));
    ASSERT_TRUE(seen && *seen);
    EXPECT_GE(**seen, before + std::chrono::minutes(10));
    EXPECT_LE(**seen, std::chrono::steady_clock::now() + std::chrono::minutes(10));

    seen = read_deadline(get("/none"));
    ASSERT_TRUE(seen);
    EXPECT_FALSE(*seen) << "a disabled route timeout sets no deadline";

    // The caller's budget lowers the deadline, on a route with none and on one with the default.
    seen = read_deadline(get("/none", "X-Request-Timeout-Ms: 60000\r\n"));
    ASSERT_TRUE(seen && *seen);
    EXPECT_LE(**seen, std::chrono::steady_clock::now() + std::chrono::seconds(60));
    seen = read_deadline(get("/default", "grpc-timeout: 2M\r\n"));
    ASSERT_TRUE(seen && *seen);
    EXPECT_LE(**seen, std::chrono::steady_clock::now() + std::chrono::minutes(2));
    EXPECT_GE(**seen, before + std::chrono::minutes(2) - std::chrono::seconds(1));
}

TEST(Server, RequestTimeoutHeadersLowerTheDeadlineTo504) {
    for (const char* header : {"X-Request-Timeout-Ms: 100\r\n", "grpc-timeout: 100m\r\n"}) {
        SCOPED_TRACE(header);
        observed seen;
        http::router routes;
        http::route_options long_timeout;
        long_timeout.timeout = http::route_timeout::after(std::chrono::hours(1));
        routes.map_get("/budget", wait_for_cancellation(seen), long_timeout);
        log_recorder log;
        running_server server(std::move(routes), test_options(log));

        raw_client client(server.endpoint());
        ASSERT_TRUE(client.send(get("/budget", header)));
        const auto reply = client.read_response();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->result_int(), 504);
        const auto reason = seen.reason.wait();
        ASSERT_TRUE(reason);
        EXPECT_EQ(*reason, halt::errc::deadline_exceeded);
    }
}

TEST(Server, SpentBudgetIsAnswered504WithoutCallingTheHandler) {
    std::atomic<int> calls{0};
    http::router routes;
    routes.map_get("/budget", [&](request_context&) -> awaitable_response {
        ++calls;
        co_return http::make_response(http::status::ok);
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client client(server.endpoint());
    for (const char* header : {"X-Request-Timeout-Ms: 0\r\n", "X-Request-Timeout-Ms: -5\r\n", "grpc-timeout: 0n\r\n"}) {
        SCOPED_TRACE(header);
        ASSERT_TRUE(client.send(get("/budget", header)));
        const auto reply = client.read_response();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->result_int(), 504);
    }
    const auto entry = log.wait_for("/budget");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->reason, halt::errc::deadline_exceeded);
    EXPECT_EQ(calls.load(), 0);

    // A malformed budget is a bad request, not "no budget".
    for (const char* header : {"X-Request-Timeout-Ms: soon\r\n", "grpc-timeout: 123456789S\r\n", "grpc-timeout: 5x\r\n"}) {
        SCOPED_TRACE(header);
        ASSERT_TRUE(client.send(get("/budget", header)));
        const auto reply = client.read_response();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->result_int(), 400);
    }
    EXPECT_EQ(calls.load(), 0);
}

// --- Limits and bad input ---------------------------------------------------------------------

TEST(Server, LimitsGiveTheRight4xx) {
    http::router routes;
    routes.map_post("/upload", [](request_context& ctx) -> awaitable_response {
        co_return http::make_response(http::status::ok, std::to_string(ctx.request().body().size()));
    });
    log_recorder log;
    http::server_options options = test_options(log);
    options.max_request_header_bytes = 1024;
    options.max_request_body_bytes = 100;
    running_server server(std::move(routes), options);

    const auto answer = [&](const std::string& request) {
        raw_client client(server.endpoint());
        EXPECT_TRUE(client.send(request));
        const auto reply = client.read_response();
        const unsigned status = reply ? reply->result_int() : 0;
        if (reply) {
            EXPECT_FALSE(reply->keep_alive()) << status;
            EXPECT_TRUE(client.wait_closed()) << status;
        }
        return status;
    };
    const std::string big_header = "X-Filler: " + std::string(2000, 'a') + "\r\n";
    EXPECT_EQ(answer("POST /upload HTTP/1.1\r\nHost: t\r\n" + big_header + "Content-Length: 0\r\n\r\n"), 431u);
    EXPECT_EQ(answer("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n"), 413u);
    EXPECT_EQ(answer("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" +
                     std::string(101, 'b') + "\r\n0\r\n\r\n"),
              413u);
    EXPECT_EQ(answer("NOT HTTP AT ALL\r\n\r\n"), 400u);
    EXPECT_EQ(answer("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n"), 400u);

    // Within the limits it is served.
    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'c')));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body(), "100");
}

TEST(Server, MalformedRequestDoesNotDisturbAConcurrentGoodOne) {
    event started;
    halt::source release;
    http::router routes;
    routes.map_get("/good", [&](request_context&) -> awaitable_response {
        started.set();
        co_await halt::async_wait(release.token(), asio::use_awaitable);
        co_return http::make_response(http::status::ok, "good");
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client good(server.endpoint());
    ASSERT_TRUE(good.send(get("/good")));
    ASSERT_TRUE(started.wait());

    raw_client bad(server.endpoint());
    ASSERT_TRUE(bad.send("GET /good HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n"));
    const auto rejected = bad.read_response();
    ASSERT_TRUE(rejected);
    EXPECT_EQ(rejected->result_int(), 400);
    EXPECT_TRUE(bad.wait_closed());

    release.cancel();
    const auto reply = good.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 200);
    EXPECT_EQ(reply->body(), "good");
}

TEST(Server, SlowHeaderIsCutOffAndIdleConnectionsClose) {
    http::router routes;
    routes.map_get("/", [](request_context&) -> awaitable_response { co_return http::make_response(http::status::ok); });
    log_recorder log;
    http::server_options options = test_options(log);
    options.request_header_timeout = 200ms;
    options.keep_alive_timeout = 200ms;
    running_server server(std::move(routes), options);

    // Slowloris: a header that never ends.
    raw_client slow(server.endpoint());
    ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "));
    const auto reply = slow.read_response();
    ASSERT_TRUE(reply) << slow.last_error().message();
    EXPECT_EQ(reply->result_int(), 408);
    EXPECT_TRUE(slow.wait_closed());

    // A kept-alive connection that sends nothing more is closed.
    raw_client idle(server.endpoint());
    ASSERT_TRUE(idle.send(get("/")));
    ASSERT_TRUE(idle.read_response());
    EXPECT_TRUE(idle.wait_closed());
}

TEST(Server, ConnectionCapClosesTheConnectionOverIt) {
    http::router routes;
    routes.map_get("/", [](request_context&) -> awaitable_response { co_return http::make_response(http::status::ok); });
    log_recorder log;
    http::server_options options = test_options(log);
    options.max_connections = 1;
    running_server server(std::move(routes), options);

    raw_client first(server.endpoint());
    ASSERT_TRUE(first.send(get("/")));
    ASSERT_TRUE(first.read_response());  // the first is surely accepted and counted
    raw_client second(server.endpoint());
    EXPECT_TRUE(second.wait_closed());
    ASSERT_TRUE(first.send(get("/")));
    EXPECT_TRUE(first.read_response());
}

// --- Observability -----------------------------------------------------------------------------

TEST(Server, MetricsEndpointInPrometheusFormat) {
    observed seen;
    http::router routes;
    routes.map_get("/items/{id}", [](request_context&) -> awaitable_response {
        co_return http::make_response(http::status::ok);
    });
    http::route_options short_timeout;
    short_timeout.timeout = http::route_timeout::after(200ms);
    routes.map_get("/slow", wait_for_cancellation(seen), short_timeout);
    log_recorder log;
    http::server_options options = test_options(log);
    options.enable_metrics = true;
    running_server server(std::move(routes), options);

    raw_client client(server.endpoint());
    for (const char* target : {"/items/1", "/items/2", "/slow", "/missing"}) {
        ASSERT_TRUE(client.send(get(target)));
        ASSERT_TRUE(client.read_response());
    }
    ASSERT_TRUE(log.wait_for("/missing"));
    ASSERT_TRUE(client.send(get("/metrics")));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 200);
    EXPECT_EQ((*reply)[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = reply->body();
    for (const char* line : {
             "halt_http_requests_total{route=\"/items/{id}\",status=\"200\"} 2\n",
             "halt_http_requests_total{route=\"/slow\",status=\"504\"} 1\n",
             "halt_http_requests_total{route=\"(unmatched)\",status=\"404\"} 1\n",
             "# TYPE halt_http_requests_in_flight gauge\n",
             "halt_http_requests_in_flight 1\n",  // the /metrics request itself
             "halt_http_request_cancellations_total{reason=\"deadline_exceeded\"} 1\n",
             "halt_http_request_cancellations_total{reason=\"client_disconnected\"} 0\n",
             "# TYPE halt_http_cancel_to_exit_seconds histogram\n",
             "halt_http_cancel_to_exit_seconds_bucket{le=\"+Inf\"} 1\n",
             "halt_http_cancel_to_exit_seconds_count 1\n",
             "halt_http_connections_open 1\n",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
    }
}

// --- A client nobody here wrote ---------------------------------------------------------------

using halt_test::have_curl;
using halt_test::run_curl;

TEST(Server, CurlMaxTimeDisconnectsMidRequest) {
    if (!have_curl()) GTEST_SKIP() << "curl is not installed";
    observed seen;
    http::router routes;
    routes.map_get("/hang", wait_for_cancellation(seen));
    routes.map_get("/hello", [](request_context&) -> awaitable_response {
        co_return http::make_response(http::status::ok, "hello\n");
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    EXPECT_EQ(run_curl({"--silent", "--fail", "--max-time", "20", "--output", "/dev/null", base + "/hello"}), 0);
    // curl gives up after 1 s (exit status 28) and closes the connection mid-request.
    EXPECT_EQ(run_curl({"--silent", "--max-time", "1", "--output", "/dev/null", base + "/hang"}), 28);
    const auto reason = seen.reason.wait();
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, halt::errc::client_disconnected);
    const auto entry = log.wait_for("/hang");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 499u);
    EXPECT_FALSE(entry->written);
}

}  // namespace
