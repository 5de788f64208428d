// halt::http::client on loopback: requests per second over one pooled keep-alive connection (and with
// several callers at once), and cancel-to-return latency: from source.cancel() on another thread to
// the cancelled call's completion handler, with the server holding the request unanswered.
//
//     halt_http_client_bench [--requests N] [--callers C] [--cancels M] [--threads T] [--url URL]
//
// The server is a trivial Beast loop in this process (its own io_context and thread), so the figures
// are the client's cost plus one loopback round trip; compare runs on the same machine only. With
// --url the requests/s figures are taken against that server instead (any 200 counts), which is how
// bench/http_client_bench.sh sets the client beside curl on the same server.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <halt/canceled_error.hpp>
#include <halt/http/client.hpp>
#include <halt/source.hpp>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

/// "/" answers "ok" at once; "/hold" never answers and counts the request, so that the bench knows
/// the call is waiting for the reply before it cancels.
class trivial_server {
public:
    trivial_server() {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
        acceptor_.listen();
        asio::co_spawn(context_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { context_.run(); });
    }
    ~trivial_server() {
        context_.stop();
        thread_.join();
    }

    std::string url(const char* target) const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + target;
    }

    /// Waits until `count` /hold requests have arrived.
    void wait_for_held(std::size_t count) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return held_ >= count; });
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (error) co_return;
            asio::co_spawn(context_, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        boost::beast::flat_buffer buffer;
        bhttp::response<bhttp::string_body> reply(bhttp::status::ok, 11);
        reply.body() = "ok";
        reply.prepare_payload();
        for (;;) {
            bhttp::request<bhttp::string_body> request;
            auto [read_error, read] = co_await bhttp::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
            if (read_error) co_return;
            if (request.target() == "/hold") {
                {
                    std::lock_guard lock(mutex_);
                    ++held_;
                }
                changed_.notify_all();
                char byte = 0;  // until the client closes
                std::ignore = co_await socket.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
                co_return;
            }
            auto [write_error, written] = co_await bhttp::async_write(socket, reply, asio::as_tuple(asio::use_awaitable));
            if (write_error) co_return;
        }
    }

    asio::io_context context_{1};
    tcp::acceptor acceptor_{context_};
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t held_ = 0;
};

/// An io_context run by `count` threads for the client.
class io_threads {
public:
    explicit io_threads(unsigned count) {
        for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { context_.run(); });
    }
    ~io_threads() {
        work_.reset();
        for (auto& thread : threads_) thread.join();
    }
    asio::io_context& context() { return context_; }

private:
    asio::io_context context_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(context_);
    std::vector<std::thread> threads_;
};

asio::awaitable<void> caller(halt::http::client& http, std::string url, int requests, halt::token tok) {
    for (int i = 0; i < requests; ++i) {
        auto reply = co_await http.get(url, tok);
        if (reply.result() != bhttp::status::ok) throw std::runtime_error("unexpected reply");
    }
}

double requests_per_second(halt::http::client& http, asio::io_context& context, const std::string& url, int callers,
                           int requests_each) {
    halt::source source;  // a real token, as a service would pass: its registration cost is included
    std::vector<std::future<void>> done;
    const auto start = clock_type::now();
    for (int i = 0; i < callers; ++i) {
        done.push_back(asio::co_spawn(asio::make_strand(context), caller(http, url, requests_each, source.token()),
                                      asio::use_future));
    }
    for (auto& future : done) future.get();
    const std::chrono::duration<double> elapsed = clock_type::now() - start;
    return callers * requests_each / elapsed.count();
}

double percentile(std::vector<double> values, double fraction) {
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

const char* text_argument(int argc, char** argv, const char* name) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return nullptr;
}

int argument(int argc, char** argv, const char* name, int fallback) {
    const char* text = text_argument(argc, argv, name);
    return text != nullptr ? std::atoi(text) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
    const int requests = argument(argc, argv, "--requests", 20000);
    const int callers = argument(argc, argv, "--callers", 8);
    const int cancels = argument(argc, argv, "--cancels", 1000);
    const int threads = argument(argc, argv, "--threads", 2);

    trivial_server server;
    const char* external_url = text_argument(argc, argv, "--url");
    const std::string target = external_url != nullptr ? external_url : server.url("/");
    io_threads io(static_cast<unsigned>(threads));
    halt::http::client http(io.context());

    // Warm-up: one connection, code paths faulted in.
    requests_per_second(http, io.context(), target, 1, std::max(requests / 20, 1));
    const double sequential = requests_per_second(http, io.context(), target, 1, requests);
    const double concurrent = requests_per_second(http, io.context(), target, callers, std::max(requests / callers, 1));

    // Cancel-to-return: each call waits for a reply that never comes; the cancel is issued from this
    // thread once the server holds the request, and the time is taken in the completion handler.
    std::vector<double> latencies_us;
    latencies_us.reserve(static_cast<std::size_t>(cancels));
    int canceled = 0;
    for (int i = 0; i < cancels; ++i) {
        halt::source source;
        std::promise<clock_type::time_point> completed;
        std::atomic<bool> was_canceled{false};
        http.get(server.url("/hold"), source.token(),
                 [&](std::exception_ptr error, halt::http::response) {
                     const auto now = clock_type::now();
                     try {
                         if (error) std::rethrow_exception(error);
                     } catch (const halt::canceled_error&) {
                         was_canceled = true;
                     } catch (...) {
                     }
                     completed.set_value(now);
                 });
        server.wait_for_held(static_cast<std::size_t>(i) + 1);
        const auto cancel_at = clock_type::now();
        source.cancel();
        const auto returned_at = completed.get_future().get();
        canceled += was_canceled ? 1 : 0;
        latencies_us.push_back(std::chrono::duration<double, std::micro>(returned_at - cancel_at).count());
    }

    std::printf("halt::http::client on loopback (%d client io threads), against %s\n", threads, target.c_str());
    std::printf("  sequential, one pooled connection : %10.0f requests/s (%d requests)\n", sequential, requests);
    std::printf("  %2d concurrent callers             : %10.0f requests/s\n", callers, concurrent);
    if (cancels > 0) {
        std::printf("  cancel-to-return latency          : p50 %.1f us, p99 %.1f us, max %.1f us (%d calls, %d canceled_error)\n",
                    percentile(latencies_us, 0.50), percentile(latencies_us, 0.99),
                    *std::max_element(latencies_us.begin(), latencies_us.end()), cancels, canceled);
    }
    return canceled == cancels ? 0 : 1;
}
