#include "connection.hpp"

#include <algorithm>
#include <limits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include <halt/errc.hpp>
#include <halt/http/response.hpp>

#include "server_state.hpp"

namespace halt::http::detail {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using boost::system::error_code;

/// How long a closing connection drains what its peer still sends, so that closing does not reset
/// the connection under a response the peer has not read yet; shorter once the server is stopping,
/// which waits for it.
constexpr std::chrono::milliseconds linger_timeout{2000};
constexpr std::chrono::milliseconds linger_timeout_when_stopping{200};

/// How long a response may still take to write once the shutdown's grace period is over.
constexpr std::chrono::milliseconds abort_write_grace{1000};

status status_for_parse_error(const error_code& error) {
    if (error == beast_http::error::header_limit) return status::request_header_fields_too_large;
    if (error == beast_http::error::body_limit) return status::payload_too_large;
    return status::bad_request;
}

}  // namespace

connection::server_count::~server_count() {
    server.metrics.connection_closed();
    server.connection_ended();
}

void connection::notice::operator()() const noexcept {
    // Runs on the thread that cancels (the server's control strand). The connection may be in its
    // destructor: lock() then fails, and that destructor does not wait for us (see halt::callback).
    if (auto self = target.lock()) {
        try {
            asio::post(self->socket_.get_executor(), [self, what = what] { ((*self).*what)(); });
        } catch (...) {
            // Out of memory: the connection then ends by its own timeouts.
        }
    }
}

connection::connection(server_state& server, asio::ip::tcp::socket socket)
    : counted_{server}, server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    server_.metrics.connection_opened();
}

connection::~connection() = default;

void connection::start() {
    error_code ignored;
    remote_ = socket_.remote_endpoint(ignored);
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    on_stopping_.emplace(server_.lifetime.stopping(), notice{weak_from_this(), &connection::on_server_stopping});
    on_abort_.emplace(server_.abort.token(), notice{weak_from_this(), &connection::on_server_abort});
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
        // A new connection gets the header timeout to send its first request.
        self->set_deadline(clock::now() + self->server_.options.request_header_timeout);
        self->read_more();
    });
}

std::size_t connection::read_limit() const noexcept {
    return server_.options.max_request_header_bytes + server_.options.max_read_ahead_bytes;
}

// --- Reading and parsing ------------------------------------------------------------------------

void connection::read_more() {
    if (read_pending_ || peer_closed_ || phase_ == phase::closed) return;
    if (buffer_.size() >= read_limit()) return;  // back-pressure: the buffer is full of pipelined requests
    const asio::mutable_buffer space = buffer_.prepare(read_limit());
    if (space.size() == 0) return;
    read_pending_ = true;
    socket_.async_read_some(space, [self = shared_from_this()](const error_code& error, std::size_t bytes) {
        self->on_read(error, bytes);
    });
}

void connection::on_read(const error_code& error, std::size_t bytes) {
    read_pending_ = false;
    if (phase_ == phase::closed) return;
    if (error) {
        peer_closed_ = true;
        peer_error_ = error;
    } else {
        if (buffer_.empty()) buffer_arrival_ = clock::now();
        buffer_.commit(bytes);
    }
    switch (phase_) {
        case phase::idle:
        case phase::reading:
            parse();
            return;
        case phase::handling:
            if (!error) {
                read_more();
                return;
            }
            // The disconnect watcher fired. A FIN alone may only mean "done sending" (policy).
            if (error == asio::error::eof && server_.options.half_close == half_close_policy::finish_request) return;
            exchange_->cancel(make_error_code(halt::errc::client_disconnected));
            return;
        case phase::writing:
            if (!error) read_more();  // keep reading ahead; a failure shows when the write ends
            return;
        case phase::lingering:
            buffer_.clear();
            if (error) {
                close();
            } else {
                read_more();
            }
            return;
        case phase::closed:
            return;
    }
}

void connection::parse() {
    while (phase_ == phase::idle || phase_ == phase::reading) {
        if (write_pending_) return;  // a 100 Continue is on its way; its completion resumes parsing
        if (buffer_.empty()) {
            need_more_data();
            return;
        }
        if (phase_ == phase::idle) begin_request();
        error_code error;
        const std::string_view data = buffer_.data();
        const std::size_t used = parser_->put(asio::buffer(data.data(), data.size()), error);
        buffer_.consume(used);
        const bool needs_more = error == beast_http::error::need_more;
        if (error && !needs_more) {
            reject(status_for_parse_error(error));
            return;
        }
        if (!header_checked_ && parser_->is_header_done()) {
            header_checked_ = true;
            if (!check_header()) return;
        }
        if (parser_->is_done()) {
            dispatch();
            return;
        }
        if (needs_more || used == 0) {
            need_more_data();
            return;
        }
    }
}

void connection::need_more_data() {
    if (peer_closed_) {
        // The peer sent everything it will: between requests that is a normal end; inside one, the
        // request can never complete.
        close();
        return;
    }
    read_more();
}

void connection::begin_request() {
    phase_ = phase::reading;
    header_checked_ = false;
    request_start_ = buffer_arrival_;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(server_.options.max_request_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(server_.options.max_request_body_bytes);
    parser_->eager(true);
    set_deadline(request_start_ + server_.options.request_header_timeout);
}

bool connection::check_header() {
    const auto length = parser_->content_length();
    if (length && *length > server_.options.max_request_body_bytes) {
        reject(status::payload_too_large);
        return false;
    }
    if (!parser_->is_done()) {
        set_deadline(clock::now() + server_.options.request_body_timeout);
        const auto& header = parser_->get();
        if (header.version() >= 11 && buffer_.empty()) {
            const auto expect = header.find(field::expect);
            if (expect != header.end() && boost::beast::iequals(expect->value(), "100-continue")) write_continue();
        }
    }
    return true;
}

void connection::write_continue() {
    static constexpr std::string_view text = "HTTP/1.1 100 Continue\r\n\r\n";
    write_pending_ = true;
    asio::async_write(socket_, asio::buffer(text.data(), text.size()),
                      [self = shared_from_this()](const error_code& error, std::size_t) {
                          self->write_pending_ = false;
                          if (self->phase_ == phase::closed) return;
                          if (error) {
                              self->close();
                              return;
                          }
                          self->parse();
                      });
}

// --- Running ------------------------------------------------------------------------------------

void connection::dispatch() {
    phase_ = phase::handling;
    set_deadline(clock::time_point::max());
    keep_alive_ = parser_->get().keep_alive();
    exchange_.emplace(server_, parser_->release(), remote_, request_start_);
    parser_.reset();
    if (std::optional<http::response> immediate = exchange_->prepare()) {
        write(std::move(*immediate));
        return;
    }
    if (peer_closed_ &&
        !(peer_error_ == asio::error::eof && server_.options.half_close == half_close_policy::finish_request)) {
        // The peer left before the request even started: its handler is never called.
        exchange_->cancel(make_error_code(halt::errc::client_disconnected));
    }
    read_more();  // the disconnect watcher
    exchange_->run(socket_.get_executor(),
                   [self = shared_from_this()](std::exception_ptr error, http::response result) {
                       self->on_handler_exit(std::move(error), std::move(result));
                   });
}

void connection::on_handler_exit(std::exception_ptr error, http::response result) {
    std::optional<http::response> reply = exchange_->on_handler_exit(std::move(error), std::move(result));
    if (!reply) {
        // The client went away while the handler ran: nothing to write to. Logged as 499.
        exchange_->finish(499, false);
        exchange_.reset();
        close();
        return;
    }
    write(std::move(*reply));
}

// --- Writing and closing ------------------------------------------------------------------------

void connection::reject(status code) {
    if (write_pending_) {  // a 100 Continue is still being written: no room for an answer
        close();
        return;
    }
    rejected_method_.clear();
    rejected_target_.clear();
    if (parser_ && parser_->is_header_done()) {
        rejected_method_ = std::string(parser_->get().method_string());
        rejected_target_ = std::string(parser_->get().target());
    }
    parser_.reset();
    keep_alive_ = false;  // the stream is out of step: what follows cannot be trusted
    write(make_status_response(code));
}

void connection::write(http::response reply) {
    phase_ = phase::writing;
    close_after_write_ = !keep_alive_ || peer_closed_ || server_.is_stopping();
    const bool head_only = exchange_ && exchange_->head_only();
    reply.version(exchange_ ? exchange_->version() : 11);
    reply.keep_alive(!close_after_write_);
    const unsigned code = reply.result_int();
    if (code < 200 || code == 204 || code == 304) reply.body().clear();  // these never carry a body
    if (!head_only || !reply.body().empty()) reply.prepare_payload();

    clock::time_point deadline = clock::now() + server_.options.response_write_timeout;
    if (server_.abort.is_cancellation_requested()) deadline = std::min(deadline, clock::now() + abort_write_grace);
    set_deadline(deadline);

    outgoing_.emplace(std::move(reply));
    serializer_.emplace(*outgoing_);
    write_pending_ = true;
    auto done = [self = shared_from_this()](const error_code& error, std::size_t) { self->on_written(error); };
    if (head_only) {
        beast_http::async_write_header(socket_, *serializer_, std::move(done));
    } else {
        beast_http::async_write(socket_, *serializer_, std::move(done));
    }
    read_more();  // keep watching while the answer is written
}

void connection::on_written(const error_code& error) {
    write_pending_ = false;
    const unsigned code = outgoing_->result_int();
    serializer_.reset();
    outgoing_.reset();
    if (exchange_) {
        exchange_->finish(code, !error);
        exchange_.reset();
    } else {
        finish_rejected(server_, remote_, rejected_method_, rejected_target_, code, !error, request_start_);
    }
    if (phase_ == phase::closed) return;
    if (error) {
        close();
        return;
    }
    if (close_after_write_ || server_.is_stopping()) {
        linger();
        return;
    }
    phase_ = phase::idle;
    set_deadline(clock::now() + server_.options.keep_alive_timeout);
    parse();  // a pipelined request may be waiting in the buffer
}

void connection::linger() {
    phase_ = phase::lingering;
    buffer_.clear();
    parser_.reset();
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    if (peer_closed_) {
        close();
        return;
    }
    const auto limit = server_.is_stopping() ? linger_timeout_when_stopping : linger_timeout;
    set_deadline(clock::now() + std::min<clock::duration>(limit, server_.options.keep_alive_timeout));
    read_more();
}

void connection::close() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    error_code ignored;
    socket_.close(ignored);  // completes the pending read and write with operation_aborted
    timer_.cancel();
    timer_armed_ = false;
    parser_.reset();
}

// --- The timer ----------------------------------------------------------------------------------

void connection::set_deadline(clock::time_point when) {
    deadline_ = when;
    if (when == clock::time_point::max() || phase_ == phase::closed) return;
    if (timer_armed_ && timer_expiry_ <= when) return;  // it fires first and re-arms for `when`
    arm_timer(when);
}

void connection::arm_timer(clock::time_point when) {
    timer_armed_ = true;
    timer_expiry_ = when;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(when);  // cancels the wait it replaces; that one sees a stale generation
    timer_.async_wait([self = shared_from_this(), generation](const error_code& error) {
        if (generation != self->timer_generation_) return;
        self->timer_armed_ = false;
        if (error || self->phase_ == phase::closed || self->deadline_ == clock::time_point::max()) return;
        if (clock::now() < self->deadline_) {
            self->arm_timer(self->deadline_);  // the deadline moved later since the timer was armed
            return;
        }
        self->on_deadline();
    });
}

void connection::on_deadline() {
    switch (phase_) {
        case phase::reading:
            reject(status::request_timeout);  // slowloris: header or body too slow
            return;
        case phase::idle:       // keep-alive timeout
        case phase::writing:    // the peer does not read its response
        case phase::lingering:  // the peer does not close
            close();
            return;
        case phase::handling:
        case phase::closed:
            return;
    }
}

// --- The server ---------------------------------------------------------------------------------

void connection::on_server_stopping() {
    // An idle connection closes now; a busy one answers its request with Connection: close.
    if (phase_ == phase::idle && !write_pending_) close();
}

void connection::on_server_abort() {
    switch (phase_) {
        case phase::handling:
            return;  // its token was cancelled with shutting_down (linked); its exit answers 503
        case phase::writing:
            set_deadline(std::min(deadline_, clock::now() + abort_write_grace));
            return;
        default:
            close();
            return;
    }
}

}  // namespace halt::http::detail
