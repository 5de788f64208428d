#include "client_tls.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/http/client_errc.hpp>

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

asio::awaitable<void> tls_handshake(client_connection& connection, ssl::context& context, const std::string& host_name,
                                    const std::string& host, const halt::token& tok) {
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
    if (!error) co_return;
    if (tok.is_cancellation_requested()) throw halt::canceled_error(tok);
    if (error == asio::error::operation_aborted) throw halt::canceled_error(make_error_code(halt::errc::canceled));
    if (error == asio::error::connection_reset || error == asio::error::broken_pipe) {
        throw client_error(client_errc::connection_reset, host, error);
    }
    throw client_error(client_errc::tls_failed, host, error);
}

}  // namespace halt::http::detail
