#pragma once
// One HTTP/1.1 connection: reads and parses requests, runs each as an exchange, writes the answers
// in order, and keeps reading while a handler runs so that a FIN or RST cancels the request at
// once. Private to halt_http.
//
// ## Threads
// Everything below runs on the connection's strand (the socket's executor), except the constructor
// and start() (the acceptor's strand) and the destructor (whichever thread drops the last owner).
// The server reaches a connection only through halt callbacks on lifetime.stopping() and on the
// abort source, which post to the strand.
//
// ## Reading ahead
// While a request runs, and while its answer is written, one read stays pending on the socket. It
// is the disconnect watcher (Kestrel and userver do the same): a FIN or RST completes it, and the
// request's token is cancelled with client_disconnected right there, on the strand. Bytes it reads
// (pipelined requests) wait in the buffer, up to max_read_ahead_bytes past the header limit. The
// same pending read then serves the next request: no read is ever cancelled on the fast path.
//
// ## Phases
//   idle ──first byte──▶ reading ──request complete──▶ handling ──handler exit──▶ writing ──┐
//    ▲                     │ (400/408/413/431)                 │ (client gone: 499)         │
//    └──── keep-alive ─────┼─────────────────────────────────── ┼ ◀───────────────────────────┘
//                          ▼                                   ▼
//                      lingering (shutdown(send), drain the peer) ──▶ closed
// One timer covers every phase's limit: idle (keep-alive timeout), reading (header, then body
// timeout), writing (write timeout), lingering. Moving a deadline later only writes a field; the
// timer re-arms itself when it fires early, so the hot path never cancels a timer wait.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <halt/callback.hpp>
#include <halt/http/message.hpp>

#include "exchange.hpp"
#include "read_buffer.hpp"

namespace halt::http::detail {

class server_state;

class connection : public std::enable_shared_from_this<connection> {
public:
    using clock = std::chrono::steady_clock;

    /// `socket` is connected and its executor is a strand of the server's io_context.
    connection(server_state& server, boost::asio::ip::tcp::socket socket);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    /// Starts serving. Call once, right after construction, from any thread.
    void start();

private:
    enum class phase : unsigned char { idle, reading, handling, writing, lingering, closed };

    /// What the server tells a connection, posted to its strand.
    struct notice {
        std::weak_ptr<connection> target;
        void (connection::*what)();
        void operator()() const noexcept;
    };

    // Reading and parsing.
    void read_more();
    void on_read(const boost::system::error_code& error, std::size_t bytes);
    void parse();
    void need_more_data();
    void begin_request();
    bool check_header();
    void write_continue();

    // Running.
    void dispatch();
    void on_handler_exit(std::exception_ptr error, http::response result);

    // Writing and closing.
    void reject(status code);
    void write(http::response reply);
    void on_written(const boost::system::error_code& error);
    void linger();
    void close();

    // The timer.
    void set_deadline(clock::time_point when);
    void arm_timer(clock::time_point when);
    void on_deadline();

    // The server.
    void on_server_stopping();
    void on_server_abort();

    std::size_t read_limit() const noexcept;

    /// Declared first, so destroyed last: tells the server the connection is gone once every other
    /// member (socket, timer, exchange) is.
    struct server_count {
        server_state& server;
        ~server_count();
    };
    server_count counted_;
    server_state& server_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer timer_;
    boost::asio::ip::tcp::endpoint remote_;
    read_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::optional<exchange> exchange_;
    std::optional<http::response> outgoing_;
    std::optional<boost::beast::http::response_serializer<boost::beast::http::string_body>> serializer_;
    std::optional<halt::callback<notice>> on_stopping_;
    std::optional<halt::callback<notice>> on_abort_;

    phase phase_ = phase::idle;
    bool read_pending_ = false;
    bool write_pending_ = false;
    /// The peer sent its FIN, or the connection failed: nothing more will be read.
    bool peer_closed_ = false;
    boost::system::error_code peer_error_;
    bool header_checked_ = false;
    bool keep_alive_ = true;
    bool close_after_write_ = false;
    /// A rejected request's start line, for the access log (there is no exchange).
    std::string rejected_method_;
    std::string rejected_target_;

    clock::time_point request_start_{};
    /// When the oldest byte now in the buffer arrived.
    clock::time_point buffer_arrival_{};

    clock::time_point deadline_ = clock::time_point::max();
    clock::time_point timer_expiry_ = clock::time_point::max();
    bool timer_armed_ = false;
    std::uint64_t timer_generation_ = 0;
};

}  // namespace halt::http::detail
