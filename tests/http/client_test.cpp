// halt::http::client and blocking_client against a loopback Beast server: replies, every failure with
// its code and host, cancellation in each phase, the deadline header, the pool, and blocking calls.
// The client's io_context runs on four threads; everything stays on 127.0.0.1.

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>
#include <halt/http/client.hpp>
#include <halt/http/url.hpp>

#include "../asio/io_threads.hpp"
#include "../bounded_wait.hpp"
#include "../thrown.hpp"
#include "loopback_server.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using halt::http::client_errc;
using halt::http::client_error;
using halt_test::contains;
using halt_test::get;
using halt_test::thrown;

/// A 127.0.0.1 port nobody listens on (bound, then closed).
std::uint16_t closed_port() {
    asio::io_context context;
    asio::ip::tcp::acceptor acceptor(context, asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

class Client : public ::testing::Test {
protected:
    halt::http::client make_client(halt::http::client_options options = {}) {
        return halt::http::client(io.executor(), std::move(options));
    }

    /// Runs one call with a future and returns the reply (or rethrows).
    halt::http::response call(halt::http::client& http, const std::string& url, const halt::token& tok = {}) {
        return get(http.get(url, tok, asio::use_future));
    }

    halt_test::io_threads io;
    halt_test::loopback_server server;
    halt::http::client http = make_client();
};

// --- url ------------------------------------------------------------------------------------------

TEST(Url, SplitsAnAbsoluteHttpUrl) {
    const auto parsed = halt::http::url::parse("HTTP://Example.COM:8080/a/b?x=1#fragment");
    EXPECT_EQ(parsed.scheme, "http");
    EXPECT_EQ(parsed.host, "example.com");
    EXPECT_EQ(parsed.port, 8080);
    EXPECT_EQ(parsed.target, "/a/b?x=1");
    EXPECT_EQ(parsed.authority(), "example.com:8080");
    EXPECT_EQ(parsed.host_header(), "example.com:8080");

    const auto bare = halt::http::url::parse("http://host");
    EXPECT_EQ(bare.port, 80);
    EXPECT_EQ(bare.target, "/");
    EXPECT_EQ(bare.host_header(), "host");
    EXPECT_EQ(halt::http::url::parse("http://host?q=1").target, "/?q=1");
    EXPECT_EQ(halt::http::url::parse("http://host:/x").port, 80);

    const auto ipv6 = halt::http::url::parse("http://[::1]:9000/x");
    EXPECT_EQ(ipv6.host, "::1");
    EXPECT_EQ(ipv6.authority(), "[::1]:9000");
    EXPECT_EQ(halt::http::url::parse("https://h/").port, 443);
}

TEST(Url, RejectsMalformedUrlsNamingThem) {
    for (const std::string text : {"", "127.0.0.1:80/x", "http//x", "http://", "http://:80/", "http://h:0/",
                                   "http://h:65536/", "http://h:8x/", "http://user@h/", "http://[::1/",
                                   "http://[zz]/", "http://h o/", "1http://h/", "http://h\x01/", "http://h^/"}) {
        SCOPED_TRACE(text);
        const auto error = thrown<client_error>([&] { halt::http::url::parse(text); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), client_errc::malformed_url);
        EXPECT_TRUE(contains(error->what(), '"' + text + '"')) << error->what();

        std::error_code code;
        const auto empty = halt::http::url::parse(text, code);
        EXPECT_EQ(code, client_errc::malformed_url);
        EXPECT_EQ(empty, halt::http::url{});
    }
}

TEST(Url, RejectsOtherSchemesNamingTheHost) {
    const auto error = thrown<client_error>([] { halt::http::url::parse("ftp://files.example.com/pub"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::unsupported_scheme);
    EXPECT_EQ(error->host(), "files.example.com");
    EXPECT_TRUE(contains(error->what(), "files.example.com")) << error->what();
}

TEST(ClientErrc, HasItsOwnCategoryAndGenericEquivalents) {
    const std::error_code refused = client_errc::connection_refused;
    EXPECT_STREQ(refused.category().name(), "halt.http.client");
    EXPECT_EQ(refused, std::errc::connection_refused);
    EXPECT_EQ(std::error_code(client_errc::connection_reset), std::errc::connection_reset);
    EXPECT_NE(std::error_code(client_errc::body_too_large), std::errc::connection_refused);
    EXPECT_EQ(std::error_code(client_errc::body_too_large).message(), "reply body too large");
}

// --- replies --------------------------------------------------------------------------------------

TEST_F(Client, AwaitedGetReturnsTheReply) {
    auto strand = asio::make_strand(io.context());
    const std::string url = server.url("/ok");
    auto reply = get(asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<halt::http::response> {
            halt::source source;
            co_return co_await http.get(url, source.token());
        },
        asio::use_future));
    EXPECT_EQ(reply.result(), halt::http::status::ok);
    EXPECT_EQ(reply.body(), "ok");

    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].target, "/ok");
    EXPECT_EQ(seen[0].host, server.authority());
    EXPECT_EQ(seen[0].user_agent, halt::http::client_options{}.user_agent);
    EXPECT_FALSE(seen[0].request_timeout) << "no deadline, no budget header";
}

TEST_F(Client, RequestSendsMethodHeadersAndBody) {
    boost::beast::http::fields headers;
    headers.set("X-Echo", "marker");
    headers.set(halt::http::field::user_agent, "test-agent");
    auto reply = get(http.request(halt::http::verb::post, server.url("/echo"), headers, "payload", {}, asio::use_future));
    EXPECT_EQ(reply.body(), "payload");
    EXPECT_EQ(reply["X-Echo"], "marker");
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].user_agent, "test-agent");
}

TEST_F(Client, StatusesOtherThanOkAreReplies) {
    EXPECT_EQ(call(http, server.url("/missing")).result(), halt::http::status::not_found);
}

TEST_F(Client, ResolvesHostNames) {
    EXPECT_EQ(call(http, "http://localhost:" + std::to_string(server.port()) + "/ok").body(), "ok");
}

// --- failures: each its own code, each naming the host ---------------------------------------------

TEST_F(Client, MalformedUrl) {
    const auto error = thrown<client_error>([&] { call(http, "not a url"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::malformed_url);
    EXPECT_TRUE(contains(error->what(), "not a url")) << error->what();
}

TEST_F(Client, UnsupportedScheme) {
    for (const std::string url : {"ftp://files.example.com/x", "ws://socket.example.com:8443/"}) {
        const auto error = thrown<client_error>([&] { call(http, url); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), client_errc::unsupported_scheme);
        EXPECT_TRUE(contains(error->what(), "example.com")) << error->what();
    }
}

TEST_F(Client, ResolveFailure) {
    // A label longer than 63 characters fails in the resolver itself: no name server is asked.
    const std::string host = std::string(70, 'a') + ".invalid";
    const auto error = thrown<client_error>([&] { call(http, "http://" + host + "/x"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::resolve_failed);
    EXPECT_EQ(error->host(), host + ":80");
    EXPECT_TRUE(contains(error->what(), host)) << error->what();
    EXPECT_TRUE(error->cause()) << "the resolver's own error is kept";
}

TEST_F(Client, ConnectionRefused) {
    const std::string authority = "127.0.0.1:" + std::to_string(closed_port());
    const auto error = thrown<client_error>([&] { call(http, "http://" + authority + "/x"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::connection_refused);
    EXPECT_EQ(error->code(), std::errc::connection_refused);
    EXPECT_EQ(error->host(), authority);
    EXPECT_TRUE(contains(error->what(), authority)) << error->what();
    EXPECT_EQ(http.pool_counts_for(authority).open, 0u);
}

TEST_F(Client, ConnectionReset) {
    const auto error = thrown<client_error>([&] { call(http, server.url("/reset")); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::connection_reset);
    EXPECT_EQ(error->code(), std::errc::connection_reset);
    EXPECT_TRUE(contains(error->what(), server.authority())) << error->what();
}

TEST_F(Client, ConnectionClosedBeforeAReply) {
    const auto error = thrown<client_error>([&] { call(http, server.url("/hangup")); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::connection_closed);
    EXPECT_TRUE(contains(error->what(), server.authority())) << error->what();
}

TEST_F(Client, NotHttpReply) {
    const auto error = thrown<client_error>([&] { call(http, server.url("/garbage")); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::not_http_reply);
    EXPECT_TRUE(contains(error->what(), server.authority())) << error->what();
}

TEST_F(Client, BodyTooLargeByContentLengthAndByChunks) {
    halt::http::client_options options;
    options.max_body_size = 1024;
    auto small = make_client(options);
    for (const std::string target : {"/huge", "/huge-chunked"}) {
        SCOPED_TRACE(target);
        const auto error = thrown<client_error>([&] { call(small, server.url(target)); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), client_errc::body_too_large);
        EXPECT_TRUE(contains(error->what(), server.authority())) << error->what();
    }
    // Both connections were closed by the client, not kept.
    EXPECT_TRUE(server.wait_for_left_by_client(2));
    EXPECT_EQ(small.pool_counts_for(server.authority()).open, 0u);
}

// --- cancellation, phase by phase --------------------------------------------------------------------

TEST_F(Client, AlreadyCancelledTokenNeverTouchesTheNetwork) {
    halt::source source;
    source.cancel(halt::errc::client_disconnected);
    // An address and a name (which would need a lookup): neither connects.
    for (const std::string& url : {server.url("/ok"), "http://localhost:" + std::to_string(server.port()) + "/ok"}) {
        const auto error = thrown<halt::canceled_error>([&] { call(http, url, source.token()); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), halt::errc::client_disconnected);
        EXPECT_TRUE(error->token() == source.token());
    }
    EXPECT_EQ(server.accepted(), 0u);
}

TEST_F(Client, CancelWhileConnecting) {
    halt_test::blackhole_listener blackhole;
    halt::source source;
    source.cancel_after(100ms);  // the connect can never complete: only the deadline ends it
    const auto error = thrown<halt::canceled_error>([&] { call(http, blackhole.url("/x"), source.token()); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::deadline_exceeded);
    EXPECT_EQ(http.pool_counts_for(blackhole.authority()).open, 0u);
    if (!blackhole.full()) GTEST_SKIP() << "the backlog could not be filled; the connect phase was not isolated";
}

TEST_F(Client, CancelWhileWriting) {
    halt::source source;
    std::string body(32 << 20, 'b');  // far more than the socket buffers hold: the write blocks
    auto reply = http.request(halt::http::verb::post, server.url("/stall"), {}, std::move(body), source.token(),
                              asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));  // the header arrived; the server reads no more
    source.cancel(halt::errc::shutting_down);
    const auto error = thrown<halt::canceled_error>([&] { get(reply); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::shutting_down);
    EXPECT_EQ(http.pool_counts_for(server.authority()).open, 0u);
}

TEST_F(Client, CancelWhileReadingTheHeaderClosesTheConnectionPromptly) {
    halt::source source;
    auto reply = http.get(server.url("/slow"), source.token(), asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));
    const auto cancelled_at = std::chrono::steady_clock::now();
    source.cancel(halt::errc::client_disconnected);
    const auto error = thrown<halt::canceled_error>([&] { get(reply); });
    const auto latency = std::chrono::steady_clock::now() - cancelled_at;
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::client_disconnected);
    EXPECT_TRUE(error->token() == source.token());
    EXPECT_LT(latency, 5s) << "promptly: nothing but the cancellation ends this call";
    EXPECT_TRUE(server.wait_for_left_by_client(1)) << "the socket is closed";
    EXPECT_EQ(http.pool_counts_for(server.authority()).open, 0u);
}

TEST_F(Client, CancelWhileReadingTheBody) {
    halt::http::client_options options;
    options.max_body_size = std::size_t{4} << 30;  // accepts the 1 GiB the server announces and never sends
    auto patient = make_client(options);
    halt::source source;
    auto reply = patient.get(server.url("/huge"), source.token(), asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));
    source.cancel();
    const auto error = thrown<halt::canceled_error>([&] { get(reply); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::canceled);
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

TEST_F(Client, DeadlineEndsTheCallWithDeadlineExceeded) {
    halt::source source;
    source.cancel_after(50ms);
    const auto error = thrown<halt::canceled_error>([&] { call(http, server.url("/slow"), source.token()); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::deadline_exceeded);
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

TEST_F(Client, CancelWhileWaitingForAPooledConnection) {
    halt::http::client_options options;
    options.max_connections_per_host = 1;
    auto single = make_client(options);
    auto held = single.get(server.url("/slow"), {}, asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));

    halt::source source;
    auto waiting = single.get(server.url("/ok"), source.token(), asio::use_future);
    ASSERT_TRUE(wait_until_true([&] { return single.pool_counts_for(server.authority()).waiting == 1; },
                                halt_test::hang_limit));
    source.cancel(halt::errc::client_disconnected);
    const auto error = thrown<halt::canceled_error>([&] { get(waiting); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::client_disconnected);
    EXPECT_EQ(single.pool_counts_for(server.authority()).waiting, 0u);

    server.release_slow();
    EXPECT_EQ(get(held).body(), "slow");
    EXPECT_EQ(call(single, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 1u) << "the one connection served both";
}

asio::awaitable<std::string> fetch(halt::http::client& http, std::string url) {
    auto reply = co_await http.get(url, {});
    co_return reply.body();
}

TEST_F(Client, CancellingTheAwaitingCoroutineStopsTheCall) {
    halt::source source;
    auto done = halt::co_spawn(asio::make_strand(io.context()), fetch(http, server.url("/slow")), source.token(),
                               asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));
    source.cancel();
    EXPECT_TRUE(thrown<halt::canceled_error>([&] { get(done); }));
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

/// Asio's `||` races a GET against a timer; the loser is cancelled through its cancellation slot.
/// Returns the index of the winner (0: the GET, 1: the timer).
asio::awaitable<std::size_t> get_or_time_out(halt::http::client& http, std::string url,
                                             std::chrono::microseconds limit) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    const auto winner = co_await (http.get(url, {}) || timer.async_wait(asio::use_awaitable));
    co_return winner.index();
}

TEST_F(Client, CancellationOfTheAwaitingCoroutineThroughItsSlotStopsTheCall) {
    auto winner = asio::co_spawn(asio::make_strand(io.context()), get_or_time_out(http, server.url("/slow"), 50ms),
                                 asio::use_future);
    EXPECT_EQ(get(winner), 1u);
    EXPECT_TRUE(server.wait_for_left_by_client(1)) << "the socket is closed";
    EXPECT_EQ(http.pool_counts_for(server.authority()).open, 0u) << "the loser completed before || returned";
}

TEST_F(Client, BoundSlotCancellationReportsCanceledWithoutAToken) {
    auto strand = asio::make_strand(io.context());
    asio::cancellation_signal signal;  // emitted on `strand`, where the handler runs too (Asio's rule)
    std::promise<std::exception_ptr> outcome;
    halt::source unrelated;  // the call's token: never cancelled here
    http.get(server.url("/slow"), unrelated.token(),
             asio::bind_cancellation_slot(signal.slot(),
                                          asio::bind_executor(strand, [&](std::exception_ptr error, halt::http::response) {
                                              halt_test::keep_alive(error);  // see keep_alive: TSan and exception_ptr
                                              outcome.set_value(error);
                                          })));
    ASSERT_TRUE(server.wait_for_requests(1));
    asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });
    auto done = outcome.get_future();
    const auto error = thrown<halt::canceled_error>([&] { std::rethrow_exception(get(done)); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::canceled);
    EXPECT_FALSE(error->token().can_be_canceled()) << "the caller's token was not what cancelled the call";
    EXPECT_FALSE(unrelated.is_cancellation_requested());
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

TEST_F(Client, SlotCancellationRacingCompletionIsSafe) {
    // Each round races a fast GET against a timer of 0 to 255 us, so the slot's cancellation lands
    // before, during and after the call completes, and the caller's next round reuses the slot at once.
    // Under ASan and TSan this is the guard against a cancellation that outlives the call.
    constexpr int rounds = 300;
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    auto strand = asio::make_strand(io.context());
    std::size_t timer_wins = 0;
    int completed = 0;
    for (; completed < rounds && std::chrono::steady_clock::now() < give_up; ++completed) {
        const auto limit = std::chrono::microseconds((completed * 37) % 256);
        timer_wins += get(asio::co_spawn(strand, get_or_time_out(http, server.url("/ok"), limit), asio::use_future));
    }
    EXPECT_GT(completed, 0);
    RecordProperty("timer_wins", static_cast<int>(timer_wins));
    EXPECT_EQ(call(http, server.url("/ok")).body(), "ok") << "the client still serves after the races";
}

// --- the deadline travels ---------------------------------------------------------------------------

TEST_F(Client, DeadlineIsSentAsTheRemainingBudget) {
    halt::source parent;
    parent.cancel_after(10s);
    const halt::source linked = halt::source::linked(parent.token());  // the deadline is inherited
    ASSERT_TRUE(linked.token().deadline());
    const auto deadline = *linked.token().deadline();
    EXPECT_EQ(call(http, server.url("/ok"), linked.token()).body(), "ok");
    // Sent between the call's start and its reply: at most 10 s, at least what is left now.
    const auto left_now = std::chrono::floor<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());

    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    ASSERT_TRUE(seen[0].request_timeout);
    const long budget = std::stol(*seen[0].request_timeout);
    EXPECT_LE(budget, 10000);
    EXPECT_GE(budget, left_now.count());
}

// --- the pool ---------------------------------------------------------------------------------------

TEST_F(Client, SequentialCallsReuseOneConnection) {
    for (int i = 0; i < 5; ++i) EXPECT_EQ(call(http, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 1u);
    const auto counts = http.pool_counts_for(server.authority());
    EXPECT_EQ(counts.open, 1u);
    EXPECT_EQ(counts.idle, 1u);
}

TEST_F(Client, OpenConnectionsStayUnderTheCap) {
    halt::http::client_options options;
    options.max_connections_per_host = 2;
    auto capped = make_client(options);
    std::vector<std::future<halt::http::response>> replies;
    for (int i = 0; i < 5; ++i) replies.push_back(capped.get(server.url("/slow"), {}, asio::use_future));
    ASSERT_TRUE(server.wait_for_requests(2));
    ASSERT_TRUE(wait_until_true([&] { return capped.pool_counts_for(server.authority()).waiting == 3; },
                                halt_test::hang_limit));
    EXPECT_EQ(capped.pool_counts_for(server.authority()).open, 2u);
    server.release_slow();
    for (auto& reply : replies) EXPECT_EQ(get(reply).body(), "slow");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(Client, CancelledConnectionIsNotReused) {
    halt::source source;
    auto reply = http.get(server.url("/slow"), source.token(), asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));
    source.cancel();
    EXPECT_TRUE(thrown<halt::canceled_error>([&] { get(reply); }));
    EXPECT_EQ(call(http, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(Client, FailedConnectionIsNotReused) {
    halt::http::client_options options;
    options.max_body_size = 1024;
    auto small = make_client(options);
    // The server keeps this connection open after the reply the client refused.
    EXPECT_TRUE(thrown<client_error>([&] { call(small, server.url("/huge")); }));
    EXPECT_EQ(call(small, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 2u);
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

TEST_F(Client, ConnectionCloseIsHonoured) {
    EXPECT_EQ(call(http, server.url("/close")).body(), "closing");
    EXPECT_EQ(http.pool_counts_for(server.authority()).open, 0u);
    EXPECT_EQ(call(http, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(Client, IdleConnectionDroppedByTheServerIsReplaced) {
    EXPECT_EQ(call(http, server.url("/drop")).body(), "dropped");
    ASSERT_TRUE(server.wait_for_dropped(1));
    EXPECT_EQ(call(http, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(Client, IdleTimeoutClosesOldConnections) {
    halt::http::client_options options;
    options.idle_timeout = std::chrono::steady_clock::duration::zero();
    auto forgetful = make_client(options);
    EXPECT_EQ(call(forgetful, server.url("/ok")).body(), "ok");
    EXPECT_EQ(call(forgetful, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(Client, ManyConcurrentCallsAllComplete) {
    std::vector<std::future<halt::http::response>> replies;
    for (int i = 0; i < 64; ++i) replies.push_back(http.get(server.url("/ok"), {}, asio::use_future));
    for (auto& reply : replies) EXPECT_EQ(get(reply).body(), "ok");
    EXPECT_LE(server.accepted(), halt::http::client_options{}.max_connections_per_host);
}

TEST_F(Client, ClientMayBeDestroyedWithCallsInFlight) {
    auto doomed = std::make_unique<halt::http::client>(make_client());
    auto reply = doomed->get(server.url("/slow"), {}, asio::use_future);
    ASSERT_TRUE(server.wait_for_requests(1));
    doomed.reset();
    server.release_slow();
    EXPECT_EQ(get(reply).body(), "slow");
}

// --- blocking calls ---------------------------------------------------------------------------------

class BlockingClient : public ::testing::Test {
protected:
    halt_test::loopback_server server;
    halt::http::blocking_client http;
};

TEST_F(BlockingClient, GetWaitsForTheReply) {
    halt::source source;
    EXPECT_EQ(http.get(server.url("/ok"), source.token()).body(), "ok");
    EXPECT_EQ(http.get(server.url("/ok"), source.token()).body(), "ok");
    EXPECT_EQ(server.accepted(), 1u);
}

TEST_F(BlockingClient, CancelFromAnotherThreadReturnsTheBlockedCall) {
    halt::source source;
    std::thread canceller([&] {
        if (server.wait_for_requests(1)) source.cancel(halt::errc::client_disconnected);
    });
    const auto error = thrown<halt::canceled_error>([&] { http.get(server.url("/slow"), source.token()); });
    canceller.join();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::client_disconnected);
    EXPECT_TRUE(server.wait_for_left_by_client(1));
}

TEST_F(BlockingClient, ReportsFailures) {
    const std::string authority = "127.0.0.1:" + std::to_string(closed_port());
    const auto error = thrown<client_error>([&] { http.get("http://" + authority + "/", {}); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::connection_refused);
    EXPECT_TRUE(contains(error->what(), authority));
}

}  // namespace
