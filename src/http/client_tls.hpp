#pragma once
// TLS for halt::http::client's https:// calls, on Asio's OpenSSL stream over the connection's own
// socket. The socket stays the connection's, so closing it (what a cancellation does) stops a
// handshake or a TLS read or write like any other operation on it.

#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include <halt/http/detail/client_pool.hpp>

namespace halt::http::detail {

struct tls_session {
    tls_session(boost::asio::ip::tcp::socket& socket, boost::asio::ssl::context& context) : stream(socket, context) {}

    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream;
};

/// The context used when client_options::tls is null: TLS 1.2 or later, peers verified against the
/// system's trusted CAs. Throws std::system_error if OpenSSL cannot set it up.
std::shared_ptr<boost::asio::ssl::context> make_default_tls_context();

/// Runs the client side of the TLS handshake on `connection` (connected): SNI for a host name, the
/// peer's certificate checked against `context` and against `host_name` (a name or an IP address).
/// Returns the failure (OpenSSL's reason in its message), or nothing.
boost::asio::awaitable<boost::system::error_code> tls_handshake(client_connection& connection,
                                                               boost::asio::ssl::context& context,
                                                               const std::string& host_name);

}  // namespace halt::http::detail
