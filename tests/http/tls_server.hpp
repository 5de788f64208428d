#pragma once
// A TLS server on 127.0.0.1 for the client's https tests (Beast over Asio's OpenSSL stream), its
// self-signed certificate (for IP 127.0.0.1 only, valid until 2126), and a listener that accepts
// connections in the kernel but never speaks, so that a TLS handshake against it waits forever.
//
// Routes: /ok answers 200 "ok" (keep-alive); /slow never answers and counts the clients that leave.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "../asio/io_threads.hpp"
#include "../bounded_wait.hpp"

namespace halt_test {

/// The test server's certificate (self-signed, subjectAltName IP:127.0.0.1) and its key.
inline constexpr const char* tls_certificate = R"(-----BEGIN CERTIFICATE-----
MIIBnTCCAUSgAwIBAgIUDz3VFtxzbvflOmGwXg3VRtf67J8wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQaGFsdCB0ZXN0IHNlcnZlcjAgFw0yNjExMjYxMDU5NDhaGA8y
MTI2MTEwMjEwNTk0OFowGzEZMBcGA1UEAwwQaGFsdCB0ZXN0IHNlcnZlcjBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABBQbibuqecFO2X5oxEwFY5lVoZBPf6Ioo1oQ
mVfzuekUym0564T5nCLxGCUMd4eoADJaO+gKpApkpzAMK2tmWMSjZDBiMB0GA1Ud
DgQWBBQQNpPqlJtN1EadQkeCj0kHVUSwLzAfBgNVHSMEGDAWgBQQNpPqlJtN1Ead
QkeCj0kHVUSwLzAPBgNVHREECDAGhwR/AAABMA8GA1UdEwEB/wQFMAMBAf8wCgYI
KoZIzj0EAwIDRwAwRAIgQzuS5IVf52iDddGnIH9mkFKLsyDJQ26gPUbGT+vII9QC
IF7mVkJFmoCnMo+lxQziX9LAADPm4GQ/Njdq0iRVZlHN
-----END CERTIFICATE-----
)";
inline constexpr const char* tls_private_key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/9/Z43jNb+zw8ToM
HILgvZGRgmnPseLZGWDCH7U6YgShRANCAAQUG4m7qnnBTtl+aMRMBWOZVaGQT3+i
KKNaEJlX87npFMptOeuE+Zwi8RglDHeHqAAyWjvoCqQKZKcwDCtrZljE
-----END PRIVATE KEY-----
)";

/// A client context that trusts the test server's certificate (and nothing else).
inline std::shared_ptr<boost::asio::ssl::context> trusting_test_server() {
    namespace ssl = boost::asio::ssl;
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->add_certificate_authority(boost::asio::buffer(std::string(tls_certificate)));
    return context;
}

class tls_server {
public:
    tls_server() {
        namespace ssl = boost::asio::ssl;
        tls_.use_certificate_chain(boost::asio::buffer(std::string(tls_certificate)));
        tls_.use_private_key(boost::asio::buffer(std::string(tls_private_key)), ssl::context::pem);
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(boost::asio::ip::make_address_v4("127.0.0.1"), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        boost::asio::co_spawn(context_, accept_loop(), boost::asio::detached);
        thread_ = std::thread([this] { context_.run(); });
    }
    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;
    ~tls_server() {
        context_.stop();
        thread_.join();
    }

    std::string url(const std::string& target) const { return "https://127.0.0.1:" + std::to_string(port_) + target; }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
    std::uint16_t port() const noexcept { return port_; }
    std::size_t handshakes() const noexcept { return handshakes_.load(); }

    /// Waits (bounded) until `count` /slow requests have arrived, or `count` of them saw their client leave.
    bool wait_for_slow(std::size_t count) {
        return wait_until_true([&] { return slow_.load() >= count; }, hang_limit);
    }
    bool wait_for_left_by_client(std::size_t count) {
        return wait_until_true([&] { return left_.load() >= count; }, hang_limit);
    }

private:
    using tcp = boost::asio::ip::tcp;
    using stream_type = boost::asio::ssl::stream<tcp::socket>;

    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
            if (error) co_return;
            boost::asio::co_spawn(context_, serve(stream_type(std::move(socket), tls_)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(stream_type stream) {
        namespace http = boost::beast::http;
        constexpr auto step = boost::asio::as_tuple(boost::asio::use_awaitable);
        auto [handshake_error] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server, step);
        if (handshake_error) co_return;
        ++handshakes_;
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> request;
            auto [read_error, read] = co_await http::async_read(stream, buffer, request, step);
            if (read_error) co_return;
            if (request.target() == "/slow") {
                ++slow_;
                char byte = 0;  // until the client goes away
                std::ignore = co_await stream.next_layer().async_read_some(boost::asio::buffer(&byte, 1), step);
                ++left_;
                co_return;
            }
            http::response<http::string_body> reply(http::status::ok, 11);
            reply.body() = "ok";
            reply.prepare_payload();
            auto [write_error, written] = co_await http::async_write(stream, reply, step);
            if (write_error) co_return;
        }
    }

    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};  // outlives the streams
    boost::asio::io_context context_{1};
    tcp::acceptor acceptor_{context_};
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> handshakes_{0};
    std::atomic<std::size_t> slow_{0};
    std::atomic<std::size_t> left_{0};
    std::thread thread_;
};

/// Listens on 127.0.0.1 and never accepts: the kernel completes TCP connections into the backlog, and
/// nothing ever answers a TLS ClientHello.
class silent_listener {
public:
    silent_listener() {
        acceptor_.open(boost::asio::ip::tcp::v4());
        acceptor_.bind(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address_v4("127.0.0.1"), 0));
        acceptor_.listen();
    }
    std::string url(const std::string& target) const {
        return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + target;
    }

private:
    boost::asio::io_context context_;
    boost::asio::ip::tcp::acceptor acceptor_{context_};
};

}  // namespace halt_test
