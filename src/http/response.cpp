#include <halt/http/response.hpp>

#include <utility>

namespace halt::http {

response make_response(status code, std::string body, std::string_view content_type) {
    response result(code, 11);
    if (!content_type.empty()) result.set(field::content_type, content_type);
    result.body() = std::move(body);
    return result;
}

response make_status_response(status code) {
    std::string body(boost::beast::http::obsolete_reason(code));
    body.push_back('\n');
    return make_response(code, std::move(body));
}

}  // namespace halt::http
