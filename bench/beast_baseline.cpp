// The baseline of bench/http_bench.sh: a minimal Boost.Beast asynchronous HTTP/1.1 server in the shape
// of Beast's own http_server_async example (a strand per connection, beast::tcp_stream with a 30 s
// timeout per operation, keep-alive), answering every request with the same bytes as
// bench/http_bench_server.cpp. No cancellation machinery at all.
//
//   beast_baseline <port> <io threads>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

    void run() {
        beast::error_code ignored;
        stream_.socket().set_option(tcp::no_delay(true), ignored);
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
    }

private:
    void read() {
        request_ = {};
        stream_.expires_after(std::chrono::seconds(30));
        http::async_read(stream_, buffer_, request_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
    }

    void on_read(beast::error_code error) {
        if (error) return close();
        response_ = {};
        response_.result(http::status::ok);
        response_.version(request_.version());
        response_.set(http::field::content_type, "text/plain");
        response_.body() = "Hello, world!";
        response_.keep_alive(request_.keep_alive());
        response_.prepare_payload();
        stream_.expires_after(std::chrono::seconds(30));
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code e, std::size_t) {
            if (e || !self->response_.keep_alive()) return self->close();
            self->read();
        });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
};

class listener : public std::enable_shared_from_this<listener> {
public:
    listener(asio::io_context& io, const tcp::endpoint& endpoint) : io_(io), acceptor_(asio::make_strand(io)) {
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }
    void accept() {
        acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
            if (!error) std::make_shared<session>(std::move(socket))->run();
            self->accept();
        });
    }

private:
    asio::io_context& io_;
    tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <port> <io threads>\n", argv[0]);
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    const int threads = std::max(1, std::atoi(argv[2]));
    asio::io_context io(threads);
    std::make_shared<listener>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port))->accept();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { io.stop(); });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (std::thread& thread : pool) thread.join();
    return 0;
}
