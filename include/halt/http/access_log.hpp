#pragma once
// One access-log line per request: what the server tells its access-log sink.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/ip/tcp.hpp>

namespace halt::http {

/// What the server knows about a finished request. The views are valid only during the sink's call.
struct access_log_entry {
    boost::asio::ip::tcp::endpoint remote_endpoint;
    std::string_view method;
    /// The request target as sent (path and query); empty for a request that could not be parsed.
    std::string_view target;
    /// The matched route's pattern, or empty.
    std::string_view route;
    /// The status written, or 499 when the client went away and nothing was written.
    unsigned status = 0;
    /// False when no response was written (499, or a write that failed).
    bool response_written = false;
    /// From the request's first byte to the response's last (or to the handler's exit, for a 499).
    std::chrono::nanoseconds duration{};
    /// The request token's cancellation reason; empty if it was not cancelled.
    std::error_code reason;
    /// From the request's cancellation (the FIN or RST seen, the deadline, the end of the shutdown's
    /// grace period) to its handler's exit; empty when its token was not cancelled before the
    /// handler ended, or no handler ran.
    std::optional<std::chrono::nanoseconds> cancel_to_exit;
};

/// Receives one entry per request, on a server io thread, after the response (if any) was written.
/// It should be quick; it may be called from several threads at once.
using access_log_sink = std::function<void(const access_log_entry&)>;

/// A short name for a cancellation reason: "client_disconnected", "deadline_exceeded",
/// "shutting_down", "canceled" for halt's codes, "-" for none, else the code's message().
std::string reason_name(std::error_code reason);

/// One line, without the newline:
///
///     127.0.0.1:51234 "GET /slow?x=1" 499 1503.218ms reason=client_disconnected cancel_to_exit=0.041ms route=/slow
std::string format_access_log_line(const access_log_entry& entry);

/// A sink that writes format_access_log_line() and a newline to stderr, one whole line at a time.
access_log_sink stderr_access_log();

}  // namespace halt::http
