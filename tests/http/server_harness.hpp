#pragma once
// Test helpers shared by the halt::http server tests: a server on 127.0.0.1 with an ephemeral port and
// several io threads, a raw HTTP/1.1 client on real sockets, an access-log recorder, and bounded
// waits. Nothing here sleeps: every wait is for a condition, with a limit that calls it a hang.

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <gtest/gtest.h>

#include <halt/http/server.hpp>

namespace halt_http_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

/// How long a test waits for something that should happen promptly before it calls it a hang.
inline constexpr std::chrono::milliseconds hang_limit = 30s;

/// A value set once from any thread and awaited, bounded, by the test.
template <class T>
class slot {
public:
    void set(T value) {
        {
            std::lock_guard lock(mutex_);
            if (value_) return;
            value_ = std::move(value);
        }
        ready_.notify_all();
    }
    /// The value, or std::nullopt if it was not set within `limit`.
    std::optional<T> wait(std::chrono::milliseconds limit = hang_limit) {
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, limit, [&] { return value_.has_value(); });
        return value_;
    }
    std::optional<T> peek() {
        std::lock_guard lock(mutex_);
        return value_;
    }
    void reset() {
        std::lock_guard lock(mutex_);
        value_.reset();
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<T> value_;
};

/// A flag set once and awaited.
class event {
public:
    void set() { slot_.set(true); }
    bool wait(std::chrono::milliseconds limit = hang_limit) { return slot_.wait(limit).has_value(); }
    bool is_set() { return slot_.peek().has_value(); }

private:
    slot<bool> slot_;
};

/// An access-log entry with owned strings.
struct logged_request {
    std::string method;
    std::string target;
    std::string route;
    unsigned status = 0;
    bool written = false;
    std::error_code reason;
    std::optional<std::chrono::nanoseconds> cancel_to_exit;
};

/// Records the server's access log and error log.
class log_recorder {
public:
    halt::http::access_log_sink access_sink() {
        return [this](const halt::http::access_log_entry& entry) {
            logged_request copy{std::string(entry.method), std::string(entry.target), std::string(entry.route),
                                entry.status, entry.response_written, entry.reason, entry.cancel_to_exit};
            {
                std::lock_guard lock(mutex_);
                entries_.push_back(std::move(copy));
            }
            changed_.notify_all();
        };
    }
    std::function<void(std::string_view)> error_sink() {
        return [this](std::string_view message) {
            std::lock_guard lock(mutex_);
            errors_.emplace_back(message);
        };
    }

    /// The first entry for `target`, waiting for it up to `limit`.
    std::optional<logged_request> wait_for(std::string_view target, std::chrono::milliseconds limit = hang_limit) {
        std::unique_lock lock(mutex_);
        std::optional<logged_request> found;
        changed_.wait_for(lock, limit, [&] {
            for (const logged_request& entry : entries_) {
                if (entry.target == target) {
                    found = entry;
                    return true;
                }
            }
            return false;
        });
        return found;
    }
    std::vector<logged_request> entries() {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::vector<std::string> errors() {
        std::lock_guard lock(mutex_);
        return errors_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<logged_request> entries_;
    std::vector<std::string> errors_;
};

/// Options for a test server: 127.0.0.1, a free port, four io threads and four workers, no signals,
/// logs into `recorder`.
inline halt::http::server_options test_options(log_recorder& recorder) {
    halt::http::server_options options;
    options.port = 0;
    options.io_threads = 4;
    options.worker_threads = 4;
    options.handle_signals = false;
    options.access_log = recorder.access_sink();
    options.error_log = recorder.error_sink();
    return options;
}

/// A started server that stops (no grace) and is joined, bounded, when the test ends.
class running_server {
public:
    running_server(halt::http::router routes, halt::http::server_options options,
                   std::vector<halt::http::background_service> services = {})
        : server_(std::move(routes), std::move(options)) {
        for (auto& service : services) server_.add_background_service(std::move(service));
        server_.start();
    }
    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;
    ~running_server() {
        server_.stop(0ms);
        if (!server_.wait_for(hang_limit)) {
            ADD_FAILURE() << "the server did not stop";
            std::abort();  // its threads still run handlers that refer to the test's frame
        }
    }

    halt::http::server& operator*() noexcept { return server_; }
    halt::http::server* operator->() noexcept { return &server_; }
    tcp::endpoint endpoint() const { return server_.local_endpoint(); }
    unsigned short port() const { return server_.local_endpoint().port(); }

private:
    halt::http::server server_;
};

using response = beast::http::response<beast::http::string_body>;

/// One client connection on real sockets, driven by its own io_context from the test thread. Every
/// operation is bounded by a limit and reports a timeout instead of hanging.
class raw_client {
public:
    explicit raw_client(const tcp::endpoint& server) : socket_(io_) {
        boost::system::error_code error;
        socket_.connect(server, error);
        if (error) ADD_FAILURE() << "connect: " << error.message();
        socket_.set_option(tcp::no_delay(true), error);
    }

    /// Writes all of `bytes`; false on failure or timeout.
    bool send(std::string_view bytes, std::chrono::milliseconds limit = hang_limit) {
        std::optional<boost::system::error_code> result;
        asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                          [&](const boost::system::error_code& error, std::size_t) { result = error; });
        run(result, limit);
        return result && !*result;
    }

    /// Reads one response (its header only when `head`); std::nullopt on EOF, error or timeout
    /// (last_error() tells which).
    std::optional<response> read_response(std::chrono::milliseconds limit = hang_limit, bool head = false) {
        beast::http::response_parser<beast::http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        parser.skip(head);
        std::optional<boost::system::error_code> result;
        beast::http::async_read(socket_, buffer_, parser,
                                [&](const boost::system::error_code& error, std::size_t) { result = error; });
        run(result, limit);
        if (!result) {
            last_error_ = asio::error::timed_out;
            return std::nullopt;
        }
        last_error_ = *result;
        if (*result) return std::nullopt;
        return parser.release();
    }

    /// Reads until the server closes the connection; true if it did within `limit`. Bytes received
    /// meanwhile are dropped.
    bool wait_closed(std::chrono::milliseconds limit = hang_limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (int reads = 0; reads < 100'000; ++reads) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return false;
            char scratch[4096];
            std::optional<boost::system::error_code> result;
            socket_.async_read_some(asio::buffer(scratch),
                                    [&](const boost::system::error_code& error, std::size_t) { result = error; });
            run(result, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + 1ms);
            if (!result) return false;
            if (*result) return true;  // eof or reset
        }
        return false;
    }

    /// Closes the socket: the server sees a FIN (or a RST if it had unread data for us).
    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    /// Shuts down the sending side only: a FIN, with the socket still open for reading.
    void shutdown_send() {
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }

    /// Closes with SO_LINGER 0: the server sees a RST.
    void reset() {
        boost::system::error_code ignored;
        socket_.set_option(asio::socket_base::linger(true, 0), ignored);
        socket_.close(ignored);
    }

    boost::system::error_code last_error() const noexcept { return last_error_; }

private:
    template <class T>
    void run(std::optional<T>& result, std::chrono::milliseconds limit) {
        io_.restart();
        io_.run_for(limit);
        if (!result) {
            // Timed out: cancel, and let the operation finish so that nothing refers to this frame.
            boost::system::error_code ignored;
            socket_.cancel(ignored);
            io_.restart();
            io_.run();
            result.reset();
        }
    }

    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    boost::system::error_code last_error_;
};

/// Whether a new connection to `server` is accepted (connect succeeds and is not closed at once with
/// nothing written); false once the server stopped listening.
inline bool can_connect(const tcp::endpoint& server) {
    asio::io_context io;
    tcp::socket socket(io);
    boost::system::error_code error;
    socket.connect(server, error);
    return !error;
}

/// A GET request for `target` with `extra` header lines (each ending in \r\n).
inline std::string get(std::string_view target, std::string_view extra = {}) {
    std::string text = "GET ";
    text.append(target).append(" HTTP/1.1\r\nHost: test\r\n").append(extra).append("\r\n");
    return text;
}

}  // namespace halt_http_test
