// halt::http::client over TLS: https:// calls against a loopback TLS server with a self-signed
// certificate: trust, host verification, a server that does not speak TLS, and cancellation during the
// handshake and during a TLS read. Everything stays on 127.0.0.1.

#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <halt/canceled_error.hpp>
#include <halt/http/client.hpp>
#include <halt/source.hpp>

#include "../asio/io_threads.hpp"
#include "../thrown.hpp"
#include "loopback_server.hpp"
#include "tls_server.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using halt::http::client_errc;
using halt::http::client_error;
using halt_test::contains;
using halt_test::get;
using halt_test::thrown;

class ClientTls : public ::testing::Test {
protected:
    static halt::http::client_options trusting() {
        halt::http::client_options options;
        options.tls = halt_test::trusting_test_server();
        return options;
    }

    halt::http::response call(halt::http::client& client, const std::string& url, const halt::token& tok = {}) {
        return get(client.get(url, tok, asio::use_future));
    }

    halt_test::io_threads io;
    halt_test::tls_server server;
    halt::http::client https{io.executor(), trusting()};
};

TEST_F(ClientTls, GetsOverTlsAndReusesTheConnection) {
    EXPECT_EQ(call(https, server.url("/ok")).body(), "ok");
    EXPECT_EQ(call(https, server.url("/ok")).body(), "ok");
    EXPECT_EQ(server.handshakes(), 1u) << "the second call reused the TLS connection";
    const auto counts = https.pool_counts_for("https://" + server.authority());
    EXPECT_EQ(counts.open, 1u);
    EXPECT_EQ(counts.idle, 1u);
    EXPECT_EQ(https.pool_counts_for(server.authority()).open, 0u) << "TLS connections are pooled apart";
}

TEST_F(ClientTls, UntrustedCertificateFailsNamingTheHost) {
    halt::http::client system_trust(io.executor());  // the system's CAs: the test certificate is not among them
    const auto error = thrown<client_error>([&] { call(system_trust, server.url("/ok")); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::tls_failed);
    EXPECT_TRUE(contains(error->what(), server.authority())) << error->what();
    EXPECT_TRUE(contains(error->what(), "certificate verify failed")) << error->what();
    EXPECT_EQ(system_trust.pool_counts_for("https://" + server.authority()).open, 0u);
}

TEST_F(ClientTls, CertificateMustNameTheHost) {
    // Trusted, but issued for 127.0.0.1 only: "localhost" does not match it.
    const auto error =
        thrown<client_error>([&] { call(https, "https://localhost:" + std::to_string(server.port()) + "/ok"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::tls_failed);
}

TEST_F(ClientTls, ServerThatDoesNotSpeakTlsFailsTheHandshake) {
    halt_test::loopback_server plain;
    const auto error = thrown<client_error>([&] { call(https, "https://" + plain.authority() + "/ok"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), client_errc::tls_failed);
    EXPECT_TRUE(contains(error->what(), plain.authority())) << error->what();
}

TEST_F(ClientTls, DeadlineEndsAHandshakeNobodyAnswers) {
    halt_test::silent_listener silent;
    halt::source source;
    source.cancel_after(100ms);  // connect succeeds (the kernel accepts); only the deadline ends the handshake
    const auto error = thrown<halt::canceled_error>([&] { call(https, silent.url("/x"), source.token()); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::deadline_exceeded);
}

TEST_F(ClientTls, CancelWhileReadingOverTlsClosesTheConnection) {
    halt::source source;
    auto reply = https.get(server.url("/slow"), source.token(), asio::use_future);
    ASSERT_TRUE(server.wait_for_slow(1));
    source.cancel(halt::errc::client_disconnected);
    const auto error = thrown<halt::canceled_error>([&] { get(reply); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), halt::errc::client_disconnected);
    EXPECT_TRUE(error->token() == source.token());
    EXPECT_TRUE(server.wait_for_left_by_client(1));
    EXPECT_EQ(https.pool_counts_for("https://" + server.authority()).open, 0u);
}

}  // namespace
