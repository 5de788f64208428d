#include "options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace data_service {
namespace {

unsigned short parse_port(std::string_view text) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > 65535)
        throw usage_error("--listen: '" + std::string(text) + "' is not a port number (0-65535)");
    return static_cast<unsigned short>(value);
}

void parse_listen(const std::string& value, options& result) {
    // HOST:PORT, with [v6]:PORT for IPv6 literals.
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw usage_error("--listen: expected HOST:PORT, got '" + value + "'");
    std::string host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    result.listen_host = host;
    result.listen_port = parse_port(std::string_view(value).substr(colon + 1));
}

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& text) {
    std::string_view number = text;
    double scale = 1.0;  // milliseconds
    if (number.ends_with("ms")) {
        number.remove_suffix(2);
    } else if (number.ends_with("s")) {
        number.remove_suffix(1);
        scale = 1000.0;
    }
    double value = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || error != std::errc{} || end != number.data() + number.size() || value < 0 ||
        !std::isfinite(value))
        throw usage_error("'" + text + "' is not a duration (examples: 500ms, 2s, 1500)");
    return std::chrono::milliseconds(static_cast<long long>(std::llround(value * scale)));
}

std::optional<options> parse_options(std::span<char* const> arguments) {
    options result;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string_view name = arguments[i];
        if (name == "--help" || name == "-h") return std::nullopt;
        if (i + 1 >= arguments.size()) throw usage_error("unknown option or missing value: '" + std::string(name) + "'");
        const std::string value = arguments[++i];
        if (name == "--listen") {
            parse_listen(value, result);
        } else if (name == "--upstream") {
            if (!value.starts_with("http://") && !value.starts_with("https://"))
                throw usage_error("--upstream: expected an http:// or https:// URL, got '" + value + "'");
            result.upstream = value;
        } else if (name == "--upstream-delay") {
            result.upstream_delay = parse_duration(value);
        } else if (name == "--request-timeout") {
            result.request_timeout = parse_duration(value);
        } else if (name == "--shutdown-timeout") {
            result.shutdown_timeout = parse_duration(value);
        } else {
            throw usage_error("unknown option '" + std::string(name) + "'");
        }
    }
    return result;
}

const char* usage_text() noexcept {
    return "usage: data_service [--listen HOST:PORT] [--upstream URL] [--upstream-delay D]\n"
           "                    [--request-timeout D] [--shutdown-timeout D]\n"
           "\n"
           "  --listen HOST:PORT    where to serve (default 127.0.0.1:8080)\n"
           "  --upstream URL        what GET /data fetches, an http:// or https:// URL; without it an embedded\n"
           "                        slow upstream is started on a free loopback port\n"
           "  --upstream-delay D    how long the embedded upstream takes (default 2s)\n"
           "  --request-timeout D   default request deadline (default 30s); callers can lower it\n"
           "                        with X-Request-Timeout-Ms\n"
           "  --shutdown-timeout D  grace period on SIGINT/SIGTERM (default 30s)\n"
           "\n"
           "  Durations: 500ms, 2s, 1.5s or plain milliseconds.\n"
           "  Routes: GET /data, GET /work?ms=N, GET /metrics\n";
}

}  // namespace data_service
