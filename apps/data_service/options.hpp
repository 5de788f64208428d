#pragma once
// data_service's command line.

#include <chrono>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace data_service {

struct options {
    std::string listen_host = "127.0.0.1";
    unsigned short listen_port = 8080;
    /// The URL /data fetches; empty: start the embedded slow upstream and fetch from it.
    std::string upstream;
    /// How long the embedded upstream takes to answer.
    std::chrono::milliseconds upstream_delay = std::chrono::seconds(2);
    /// The server's default request timeout (callers may lower it with X-Request-Timeout-Ms).
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
    /// How long graceful shutdown lets requests finish.
    std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(30);
};

/// Thrown for a bad command line; what() says what was wrong, in one line.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Parses argv (without the program name). std::nullopt means --help was asked for.
std::optional<options> parse_options(std::span<char* const> arguments);

/// "500ms", "2s", "1.5s" or a plain number of milliseconds.
std::chrono::milliseconds parse_duration(const std::string& text);

const char* usage_text() noexcept;

}  // namespace data_service
