#include "client_tls.hpp"

#include <tuple>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace halt::http::detail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

client_connection::client_connection(asio::any_io_executor executor) : socket(std::move(executor)) {}

// Here, where tls_session is complete. The TLS stream goes first: it refers to the socket.
client_connection::~client_connection() { tls.reset(); }

std::shared_ptr<ssl::context> make_default_tls_context() {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    context->set_default_verify_paths();
    context->set_verify_mode(ssl::verify_peer);
    return context;
}

asio::awaitable<boost::system::error_code> tls_handshake(client_connection& connection, ssl::context& context,
                                                        const std::string& host_name) {
    connection.tls = std::make_unique<tls_session>(connection.socket, context);
    auto& stream = connection.tls->stream;
    boost::system::error_code error;
    // Verification is on whatever the context says: a client that skips it is not a TLS client.
    stream.set_verify_mode(ssl::verify_peer, error);
    if (!error) stream.set_verify_callback(ssl::host_name_verification(host_name), error);
    boost::system::error_code not_an_address;
    asio::ip::make_address(host_name, not_an_address);
    // SNI carries names only (RFC 6066), never an address.
    if (!error && not_an_address && SSL_set_tlsext_host_name(stream.native_handle(), host_name.c_str()) != 1) {
        error = boost::system::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    }
    if (!error) std::tie(error) = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    co_return error;
}

}  // namespace halt::http::detail
