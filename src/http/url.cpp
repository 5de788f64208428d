#include <halt/http/url.hpp>

#include <algorithm>
#include <cctype>

#include <halt/http/client_errc.hpp>

namespace halt::http {
namespace {

/// What parsing gives: the url, or why not (a code, the name to report, a detail).
struct parse_result {
    url value;
    client_errc error{};
    std::string name;  // the host (unsupported_scheme) or the URL (malformed_url)
    std::string_view detail;
};

char lower(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lowered(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(), lower);
    return result;
}

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// RFC 3986 reg-name characters: unreserved, sub-delims and '%' (percent-encoding).
bool is_host_char(char c) noexcept {
    return is_alpha(c) || is_digit(c) || std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

std::uint16_t default_port(std::string_view scheme) noexcept {
    if (scheme == "http") return 80;
    if (scheme == "https") return 443;
    return 0;
}

parse_result malformed(std::string_view text, std::string_view detail) {
    parse_result result;
    result.error = client_errc::malformed_url;
    result.name = '"' + std::string(text) + '"';
    result.detail = detail;
    return result;
}

parse_result parse_parts(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return malformed(text, "contains a space or a control character");
    }
    const std::size_t separator = text.find("://");
    if (separator == std::string_view::npos) return malformed(text, "missing \"://\"");
    const std::string_view scheme = text.substr(0, separator);
    if (scheme.empty() || !is_alpha(scheme.front()) ||
        !std::all_of(scheme.begin(), scheme.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'; })) {
        return malformed(text, "invalid scheme");
    }

    std::string_view rest = text.substr(separator + 3);
    if (const std::size_t fragment = rest.find('#'); fragment != std::string_view::npos) rest = rest.substr(0, fragment);
    const std::size_t authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) return malformed(text, "user information is not supported");

    url result;
    result.scheme = lowered(scheme);
    std::string_view host;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return malformed(text, "unterminated IPv6 address");
        host = authority.substr(1, close - 1);
        if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
            return malformed(text, "invalid IPv6 address");
        }
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return malformed(text, "unexpected characters after the IPv6 address");
            port = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        if (host.empty()) return malformed(text, "empty host");
        if (!std::all_of(host.begin(), host.end(), is_host_char)) return malformed(text, "invalid character in host");
    }
    result.host = lowered(host);

    if (port.empty()) {
        result.port = default_port(result.scheme);  // "host:" is allowed, as RFC 3986 says
    } else {
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return malformed(text, "invalid port");
        const unsigned long number = std::stoul(std::string(port));
        if (number == 0 || number > 65535) return malformed(text, "port out of range");
        result.port = static_cast<std::uint16_t>(number);
    }

    if (target.empty()) {
        result.target = "/";
    } else if (target.front() == '?') {
        result.target = "/" + std::string(target);
    } else {
        result.target = std::string(target);
    }

    if (result.scheme != "http" && result.scheme != "https") {
        parse_result unsupported;
        unsupported.error = client_errc::unsupported_scheme;
        unsupported.name = result.port != 0 ? result.authority() : result.host;
        unsupported.detail = "only http:// is supported";
        return unsupported;
    }
    parse_result parsed;
    parsed.value = std::move(result);
    return parsed;
}

}  // namespace

std::string url::authority() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    std::string text = ipv6 ? '[' + host + ']' : host;
    text += ':';
    text += std::to_string(port);
    return text;
}

std::string url::host_header() const {
    if (port == default_port(scheme)) return host.find(':') != std::string::npos ? '[' + host + ']' : host;
    return authority();
}

url url::parse(std::string_view text) {
    parse_result result = parse_parts(text);
    if (result.error != client_errc{}) throw client_error(result.error, std::move(result.name), {}, result.detail);
    return std::move(result.value);
}

url url::parse(std::string_view text, std::error_code& error) {
    parse_result result = parse_parts(text);
    error = result.error != client_errc{} ? make_error_code(result.error) : std::error_code();
    return std::move(result.value);
}

}  // namespace halt::http
