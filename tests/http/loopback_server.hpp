#pragma once
// A small Beast HTTP server on 127.0.0.1 for the client's tests, with one route per behaviour a
// client must survive, and a listener that never accepts. Independent of halt's own server, so that
// the client's tests test only the client.
//
// Routes (by target path):
//   /ok            200 "ok"
//   /echo          200 with the request's body, and its X-Echo header sent back
//   /slow          answers only after release_slow(); notices (and counts) a client that goes away
//   /stall         reads the request's header, then never reads again nor answers (the client's
//                  write of a large body blocks)
//   /garbage       a line that is not HTTP, then close
//   /reset         closes with a TCP reset, without answering
//   /hangup        closes cleanly, without answering
//   /huge          a header announcing a 1 GiB body, then waits for the client to leave
//   /huge-chunked  chunks of 64 KiB until the client leaves (at most 64 MiB)
//   /close         200 "closing" with Connection: close, then close
//   /drop          200 "dropped" without Connection: close, then close anyway (a server that drops
//                  kept-alive connections)

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <halt/asio/async_wait.hpp>
#include <halt/source.hpp>

#include "../asio/io_threads.hpp"

namespace halt_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

/// What the server saw of one request.
struct observed_request {
    std::size_t connection = 0;  // 1 for the first connection accepted, 2 for the next, ...
    std::string method;
    std::string target;
    std::optional<std::string> request_timeout;  // the X-Request-Timeout-Ms header, if sent
    std::string user_agent;
    std::string host;
};

class loopback_server {
public:
    explicit loopback_server(unsigned threads = 2) {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
        for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { context_.run(); });
    }
    loopback_server(const loopback_server&) = delete;
    loopback_server& operator=(const loopback_server&) = delete;

    /// Stops at once: the threads are joined, then every handler is dropped and every connection
    /// closed (by the io_context's destructor, after the other members).
    ~loopback_server() {
        // Ends the halt::async_wait of held requests first: a wait on a source that is destroyed
        // uncancelled never completes, and its coroutine would leak.
        release_slow();
        context_.stop();
        for (std::thread& thread : threads_) thread.join();
    }

    std::uint16_t port() const noexcept { return port_; }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& target) const { return "http://" + authority() + target; }

    std::size_t accepted() const {
        std::lock_guard lock(mutex_);
        return accepted_;
    }
    std::vector<observed_request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::size_t left_by_client() const {
        std::lock_guard lock(mutex_);
        return left_by_client_;
    }

    /// Waits (bounded) until the server has seen `count` requests (a /stall request counts once its
    /// header is read). False on a hang.
    bool wait_for_requests(std::size_t count) { return wait([&] { return requests_.size() >= count; }); }
    /// Waits (bounded) until `count` held requests (/slow, /huge, /huge-chunked) saw their client leave.
    bool wait_for_left_by_client(std::size_t count) { return wait([&] { return left_by_client_ >= count; }); }
    /// Waits (bounded) until `count` connections were closed by the server after /drop or /close.
    bool wait_for_dropped(std::size_t count) { return wait([&] { return dropped_ >= count; }); }

    /// Answers every held /slow request, and every later one at once.
    void release_slow() { release_.cancel(); }

private:
    template <class Predicate>
    bool wait(Predicate predicate) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, hang_limit, predicate);
    }

    void update(auto change) {
        {
            std::lock_guard lock(mutex_);
            change();
        }
        changed_.notify_all();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor_.async_accept(asio::make_strand(context_),
                                                                   asio::as_tuple(asio::use_awaitable));
            if (error) co_return;
            std::size_t id = 0;
            update([&] { id = ++accepted_; });
            auto executor = socket.get_executor();
            asio::co_spawn(executor, serve(std::move(socket), id), asio::detached);
        }
    }

    static std::string field_or_empty(const bhttp::request<bhttp::string_body>& request, bhttp::field name) {
        const auto found = request.find(name);
        return found == request.end() ? std::string() : std::string(found->value());
    }

    void record(const bhttp::request<bhttp::string_body>& request, std::size_t connection) {
        observed_request seen;
        seen.connection = connection;
        seen.method = std::string(request.method_string());
        seen.target = std::string(request.target());
        if (const auto found = request.find("X-Request-Timeout-Ms"); found != request.end()) {
            seen.request_timeout = std::string(found->value());
        }
        seen.user_agent = field_or_empty(request, bhttp::field::user_agent);
        seen.host = field_or_empty(request, bhttp::field::host);
        update([&] { requests_.push_back(std::move(seen)); });
    }

    /// Completes when the client closes (or sends anything more).
    static asio::awaitable<void> client_leaves(tcp::socket& socket) {
        char byte = 0;
        std::ignore = co_await socket.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
    }

    asio::awaitable<void> released() {
        std::ignore = co_await halt::async_wait(release_.token(), asio::as_tuple(asio::use_awaitable));
    }

    static asio::awaitable<bool> write_raw(tcp::socket& socket, const std::string& bytes) {
        auto [error, written] = co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
        co_return !error;
    }

    asio::awaitable<void> serve(tcp::socket socket, std::size_t id) {
        using namespace asio::experimental::awaitable_operators;
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.body_limit(std::uint64_t{1} << 30);
            auto [header_error, header_bytes] =
                co_await bhttp::async_read_header(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
            if (header_error) co_return;
            if (parser.get().target() == "/stall") {
                record(parser.get(), id);
                co_await released();  // never reads again; ends when the server stops
                co_return;
            }
            auto [body_error, body_bytes] =
                co_await bhttp::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
            if (body_error) co_return;
            const bhttp::request<bhttp::string_body> request = parser.release();
            record(request, id);
            const std::string target(request.target());

            bhttp::response<bhttp::string_body> reply(bhttp::status::ok, 11);
            reply.keep_alive(request.keep_alive());
            if (target == "/ok") {
                reply.body() = "ok";
            } else if (target == "/echo") {
                reply.body() = request.body();
                reply.set("X-Echo", std::string(request["X-Echo"]));
            } else if (target == "/slow") {
                auto outcome = co_await (released() || client_leaves(socket));
                if (outcome.index() == 1) {
                    update([&] { ++left_by_client_; });
                    co_return;
                }
                reply.body() = "slow";
            } else if (target == "/garbage") {
                co_await write_raw(socket, "SSH-2.0-OpenSSH_9.2 not an HTTP server\r\n\r\n");
                co_return;
            } else if (target == "/reset") {
                boost::system::error_code ignored;
                socket.set_option(asio::socket_base::linger(true, 0), ignored);
                socket.close(ignored);
                co_return;
            } else if (target == "/hangup") {
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                co_return;
            } else if (target == "/huge") {
                if (co_await write_raw(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")) {
                    co_await client_leaves(socket);
                    update([&] { ++left_by_client_; });
                }
                co_return;
            } else if (target == "/huge-chunked") {
                bool open = co_await write_raw(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
                for (int i = 0; open && i < 1024; ++i) open = co_await write_raw(socket, chunk);
                if (!open) update([&] { ++left_by_client_; });
                co_return;
            } else if (target == "/close") {
                reply.keep_alive(false);
                reply.body() = "closing";
            } else if (target == "/drop") {
                reply.body() = "dropped";
            } else {
                reply.result(bhttp::status::not_found);
            }
            reply.prepare_payload();
            auto [write_error, written] = co_await bhttp::async_write(socket, reply, asio::as_tuple(asio::use_awaitable));
            if (write_error || !reply.keep_alive() || target == "/drop") {
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                update([&] { ++dropped_; });
                co_return;
            }
        }
    }

    asio::io_context context_;
    std::vector<std::thread> threads_;
    tcp::acceptor acceptor_{asio::make_strand(context_)};
    std::uint16_t port_ = 0;
    halt::source release_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t accepted_ = 0;
    std::size_t left_by_client_ = 0;
    std::size_t dropped_ = 0;
    std::vector<observed_request> requests_;
};

/// A listening socket on 127.0.0.1 that never accepts, its backlog filled so that a further connect
/// stays pending (the SYN is dropped): a client's connect to it only ends by being cancelled.
class blackhole_listener {
public:
    blackhole_listener() {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
        acceptor_.listen(0);
        const tcp::endpoint endpoint = acceptor_.local_endpoint();
        port_ = endpoint.port();
        // Connect until one stays pending: that one proves the backlog is full. A kernel may accept
        // a few first (Linux takes backlog + 1). Bounded in attempts and in time per attempt.
        for (int attempt = 0; attempt < 64; ++attempt) {
            tcp::socket& filler = fillers_.emplace_back(context_);
            filler.open(tcp::v4());
            filler.non_blocking(true);
            // ::connect, not Asio's: Asio's synchronous connect waits for the handshake even on a
            // non-blocking socket.
            if (::connect(filler.native_handle(), endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0) {
                continue;  // connected at once
            }
            if (errno != EINPROGRESS) break;
            pollfd poll_entry{filler.native_handle(), POLLOUT, 0};
            if (::poll(&poll_entry, 1, 300) == 0) {
                full_ = true;
                return;
            }
        }
    }

    /// False if the backlog could not be shown full (the test then only checks what it still can).
    bool full() const noexcept { return full_; }
    std::string url(const std::string& target) const { return "http://127.0.0.1:" + std::to_string(port_) + target; }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    asio::io_context context_;
    tcp::acceptor acceptor_{context_};
    std::vector<tcp::socket> fillers_;
    std::uint16_t port_ = 0;
    bool full_ = false;
};

}  // namespace halt_test
