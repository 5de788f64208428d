#pragma once
// An upstream of data_service's own, so that it runs with nothing else installed.

#include <chrono>
#include <string>

#include <halt/http/server.hpp>

namespace data_service {

/// Serves GET /data on a free loopback port, answering after `delay` — or stopping as soon as its
/// caller goes away, which its own access log (lines starting "[upstream]") then shows as a 499
/// with client_disconnected: the proof that data_service aborted its call.
class slow_upstream {
public:
    explicit slow_upstream(std::chrono::milliseconds delay);

    /// Binds 127.0.0.1 on a free port and starts serving. Throws boost::system::system_error.
    void start();

    /// "http://127.0.0.1:PORT/data"; valid after start().
    std::string url() const;

    /// Graceful shutdown, waiting at most a second for calls in flight.
    void stop();

private:
    halt::http::server server_;
};

/// An access-log sink that writes halt's line for each request to stderr after `prefix`.
halt::http::access_log_sink prefixed_access_log(std::string prefix);

}  // namespace data_service
