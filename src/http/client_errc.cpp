#include <halt/http/client_errc.hpp>

#include <string>

namespace halt::http {
namespace {

class client_error_category final : public std::error_category {
public:
    constexpr client_error_category() noexcept = default;

    const char* name() const noexcept override { return "halt.http.client"; }

    std::string message(int value) const override {
        switch (static_cast<client_errc>(value)) {
            case client_errc::malformed_url: return "malformed URL";
            case client_errc::unsupported_scheme: return "unsupported URL scheme";
            case client_errc::resolve_failed: return "host name not resolved";
            case client_errc::connection_refused: return "connection refused";
            case client_errc::connection_failed: return "connection failed";
            case client_errc::connection_reset: return "connection reset by peer";
            case client_errc::connection_closed: return "connection closed before a complete reply";
            case client_errc::not_http_reply: return "reply is not HTTP";
            case client_errc::headers_too_large: return "reply headers too large";
            case client_errc::body_too_large: return "reply body too large";
            case client_errc::tls_failed: return "TLS handshake failed";
        }
        return "unknown HTTP client error " + std::to_string(value);
    }

    // Generic code that checks for a refused or reset connection recognises ours without knowing halt.
    bool equivalent(int value, const std::error_condition& condition) const noexcept override {
        switch (static_cast<client_errc>(value)) {
            case client_errc::connection_refused: return condition == std::errc::connection_refused;
            case client_errc::connection_reset: return condition == std::errc::connection_reset;
            default: return default_error_condition(value) == condition;
        }
    }
};

constinit const client_error_category instance;

std::string describe(client_errc code, const std::string& host, const std::error_code& cause,
                     std::string_view detail) {
    std::string text = instance.message(static_cast<int>(code));
    text += ": ";
    text += host;
    if (!detail.empty() || cause) {
        text += " (";
        text += detail;
        if (!detail.empty() && cause) text += "; ";
        if (cause) text += cause.message();
        text += ')';
    }
    return text;
}

}  // namespace

const std::error_category& client_category() noexcept { return instance; }

// what() is ours: std::system_error's would be "<what_arg>: <code message>", which puts the host
// before the kind of failure.
client_error::client_error(client_errc code, std::string host, std::error_code cause, std::string_view detail)
    : std::system_error(make_error_code(code)),
      host_(std::move(host)),
      cause_(cause),
      description_(describe(code, host_, cause_, detail)) {}

}  // namespace halt::http
