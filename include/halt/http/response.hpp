#pragma once
// Building the responses handlers return.

#include <string>
#include <string_view>

#include <halt/http/message.hpp>

namespace halt::http {

/// A response with `status`, `body` and a Content-Type (omitted when `content_type` is empty).
/// The server fills in the version, Connection and Content-Length when it writes it.
///
///     co_return halt::http::make_response(halt::http::status::ok, "hello\n");
///
/// Allocates for the body and the field; throws std::bad_alloc.
response make_response(status code, std::string body = {},
                       std::string_view content_type = "text/plain; charset=utf-8");

/// A response whose body is the status's reason phrase and a newline ("Not Found\n"): what the
/// server itself answers for 4xx and 5xx.
response make_status_response(status code);

}  // namespace halt::http
