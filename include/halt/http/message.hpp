#pragma once
// The HTTP messages halt's server hands to handlers and takes back: Boost.Beast's, with whole bodies.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace halt::http {

/// A request as the server passes it to a handler: start line, fields and the whole body, already
/// read (within server_options::max_request_body_bytes). Beast's message type, so that everything
/// Beast offers for it applies (fields by name or by boost::beast::http::field, keep_alive(), ...).
using request = boost::beast::http::request<boost::beast::http::string_body>;

/// What a handler answers. The server sets the version, keep-alive and Content-Length (it calls
/// prepare_payload()); everything else is the handler's.
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// Beast's status codes and methods, under halt::http's names.
using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;

}  // namespace halt::http
