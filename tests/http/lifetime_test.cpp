// halt::http::lifetime and graceful shutdown against a real server: started/stopping/stopped, draining,
// cancelling with shutting_down once the grace period is over, background services, SIGTERM.

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <thread>

#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>
#include <halt/http/response.hpp>
#include <halt/http/server.hpp>

#include "server_harness.hpp"

namespace {

using namespace halt_http_test;
namespace http = halt::http;
using http::request_context;
using awaitable_response = asio::awaitable<http::response>;

http::handler ok_handler() {
    return [](request_context&) -> awaitable_response { co_return http::make_response(http::status::ok, "ok"); };
}

TEST(Lifetime, GracefulShutdownStopsAcceptingClosesIdleConnectionsAndDrains) {
    event started;
    halt::source release;
    slot<std::error_code> reason;
    http::router routes;
    routes.map_get("/", ok_handler());
    routes.map_get("/work", [&](request_context& ctx) -> awaitable_response {
        started.set();
        co_await halt::async_wait(release.token(), asio::use_awaitable);
        reason.set(ctx.request_aborted().reason());
        co_return http::make_response(http::status::ok, "drained");
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));
    http::lifetime& lifetime = server->lifetime();
    EXPECT_TRUE(lifetime.started().is_cancellation_requested());

    raw_client busy(server.endpoint());
    ASSERT_TRUE(busy.send(get("/work")));
    ASSERT_TRUE(started.wait());
    raw_client idle(server.endpoint());
    ASSERT_TRUE(idle.send(get("/")));
    ASSERT_TRUE(idle.read_response());

    server->stop(std::chrono::milliseconds(hang_limit));
    ASSERT_TRUE(lifetime.stopping().wait_for(hang_limit));
    EXPECT_EQ(lifetime.stopping().reason(), halt::errc::shutting_down);
    EXPECT_TRUE(idle.wait_closed()) << "an idle connection closes when shutdown begins";
    EXPECT_FALSE(can_connect(server.endpoint())) << "the listener closes when shutdown begins";
    EXPECT_FALSE(lifetime.stopped().is_cancellation_requested()) << "a request is still running";

    release.cancel();
    const auto reply = busy.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body(), "drained");
    EXPECT_FALSE(reply->keep_alive()) << "answers during shutdown carry Connection: close";
    const auto seen = reason.wait();
    ASSERT_TRUE(seen);
    EXPECT_FALSE(*seen) << "a request that finishes within the grace period is never cancelled";

    ASSERT_TRUE(server->wait_for(hang_limit));
    EXPECT_TRUE(lifetime.stopped().is_cancellation_requested());
}

TEST(Lifetime, WhatOutlivesTheGracePeriodIsCancelledWithShuttingDown) {
    event coroutine_started;
    slot<std::error_code> coroutine_reason;
    event blocking_started;
    slot<std::error_code> blocking_reason;
    http::router routes;
    routes.map_get("/coroutine", [&](request_context& ctx) -> awaitable_response {
        coroutine_started.set();
        try {
            co_await halt::delay(std::chrono::hours(1), ctx.request_aborted());
        } catch (const halt::canceled_error& e) {
            coroutine_reason.set(e.code());
            throw;
        }
        co_return http::make_response(http::status::ok);
    });
    routes.map_get("/blocking", [&](request_context& ctx) {
        const halt::token tok = ctx.request_aborted();
        blocking_started.set();
        for (int i = 0; i < 3000 && !tok.is_cancellation_requested(); ++i) tok.wait_for(10ms);
        blocking_reason.set(tok.reason());
        tok.throw_if_cancellation_requested();
        return http::make_response(http::status::ok);
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));

    raw_client first(server.endpoint());
    ASSERT_TRUE(first.send(get("/coroutine")));
    raw_client second(server.endpoint());
    ASSERT_TRUE(second.send(get("/blocking")));
    ASSERT_TRUE(coroutine_started.wait());
    ASSERT_TRUE(blocking_started.wait());

    const auto stop_called = std::chrono::steady_clock::now();
    server->stop(100ms);
    for (raw_client* client : {&first, &second}) {
        const auto reply = client->read_response();
        ASSERT_TRUE(reply) << client->last_error().message();
        EXPECT_EQ(reply->result_int(), 503);
        EXPECT_FALSE(reply->keep_alive());
    }
    EXPECT_GE(std::chrono::steady_clock::now() - stop_called, 100ms) << "the grace period comes first";
    EXPECT_EQ(coroutine_reason.wait(), std::optional<std::error_code>(halt::errc::shutting_down));
    EXPECT_EQ(blocking_reason.wait(), std::optional<std::error_code>(halt::errc::shutting_down));
    ASSERT_TRUE(server->wait_for(hang_limit));
    const auto entry = log.wait_for("/coroutine");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, 503u);
    EXPECT_EQ(entry->reason, halt::errc::shutting_down);
    EXPECT_EQ(server->metrics().cancellations(halt::errc::shutting_down), 2u);
}

TEST(Lifetime, TokensFireInOrderAndBackgroundServicesGetTheStoppingToken) {
    std::atomic<int> sequence{0};
    std::atomic<int> started_at{0}, stopping_at{0}, stopped_at{0};
    event cooperative_running;
    slot<std::error_code> cooperative_saw;
    event stubborn_running;
    slot<bool> stubborn_cancelled;

    std::vector<http::background_service> services;
    // Honours its stopping token.
    services.push_back([&](halt::token stopping) -> asio::awaitable<void> {
        cooperative_running.set();
        cooperative_saw.set(co_await halt::async_wait(stopping, asio::use_awaitable));
    });
    // Ignores it: cancelled at its next co_await once the grace period is over.
    services.push_back([&](halt::token) -> asio::awaitable<void> {
        stubborn_running.set();
        try {
            co_await halt::delay(std::chrono::hours(1));
        } catch (...) {
            stubborn_cancelled.set(true);
            throw;
        }
    });
    log_recorder log;
    http::router routes;
    routes.map_get("/", ok_handler());
    http::server_options options = test_options(log);
    options.shutdown_timeout = 100ms;
    running_server server(std::move(routes), options, std::move(services));
    http::lifetime& lifetime = server->lifetime();
    halt::registration on_started = lifetime.started().on_cancel([&] { started_at = ++sequence; });
    halt::registration on_stopping = lifetime.stopping().on_cancel([&] { stopping_at = ++sequence; });
    halt::registration on_stopped = lifetime.stopped().on_cancel([&] { stopped_at = ++sequence; });
    EXPECT_EQ(started_at.load(), 1) << "started() fired in start()";

    ASSERT_TRUE(cooperative_running.wait());
    ASSERT_TRUE(stubborn_running.wait());
    lifetime.stop_application();
    EXPECT_EQ(cooperative_saw.wait(), std::optional<std::error_code>(halt::errc::shutting_down));
    ASSERT_TRUE(server->wait_for(hang_limit));
    EXPECT_EQ(stubborn_cancelled.wait(), std::optional<bool>(true));
    EXPECT_EQ(stopping_at.load(), 2);
    EXPECT_EQ(stopped_at.load(), 3);
    EXPECT_TRUE(log.errors().empty());
}

TEST(Lifetime, FailingBackgroundServiceStopsTheServer) {
    std::vector<http::background_service> services;
    services.push_back([](halt::token) -> asio::awaitable<void> {
        throw std::runtime_error("service broke");
        co_return;
    });
    log_recorder log;
    http::server_options options = test_options(log);
    options.shutdown_timeout = 0ms;
    running_server server(http::router{}, options, std::move(services));
    ASSERT_TRUE(server->wait_for(hang_limit));
    const auto errors = log.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("service broke"), std::string::npos);
}

TEST(Lifetime, HandlerCanStopTheApplication) {
    http::router routes;
    routes.map_post("/quit", [](request_context& ctx) -> awaitable_response {
        ctx.application_lifetime().stop_application();
        co_return http::make_response(http::status::accepted);
    });
    log_recorder log;
    running_server server(std::move(routes), test_options(log));
    raw_client client(server.endpoint());
    ASSERT_TRUE(client.send("POST /quit HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
    const auto reply = client.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result_int(), 202);
    EXPECT_TRUE(server->wait_for(hang_limit));
}

TEST(Lifetime, StopBeforeStartStopsAsSoonAsItStarts) {
    log_recorder log;
    http::server server(http::router{}, test_options(log));
    server.stop();
    server.start();
    EXPECT_TRUE(server.wait_for(hang_limit));
    EXPECT_TRUE(server.lifetime().stopped().is_cancellation_requested());
}

TEST(Lifetime, SigtermBeginsGracefulShutdownAndRunReturnsZero) {
    log_recorder log;
    http::server_options options = test_options(log);
    options.handle_signals = true;
    http::router routes;
    routes.map_get("/", ok_handler());
    http::server server(std::move(routes), options);
    slot<int> exit_code;
    std::thread runner([&] { exit_code.set(server.run()); });
    struct join_on_exit {
        std::thread& thread;
        ~join_on_exit() { thread.join(); }
    } joiner{runner};

    ASSERT_TRUE(server.lifetime().started().wait_for(hang_limit));
    raw_client client(server.local_endpoint());
    ASSERT_TRUE(client.send(get("/")));
    ASSERT_TRUE(client.read_response());

    ASSERT_EQ(std::raise(SIGTERM), 0);
    const auto code = exit_code.wait();
    if (!code) {
        ADD_FAILURE() << "run() did not return after SIGTERM";
        std::abort();
    }
    EXPECT_EQ(*code, 0);
    EXPECT_EQ(server.lifetime().stopping().reason(), halt::errc::shutting_down);
    EXPECT_TRUE(client.wait_closed());
}

}  // namespace
