// Two numbers of halt::http that wrk cannot give:
//
// 1. Disconnect-to-token latency: from a client's close() (a FIN on loopback) to the moment the
//    server cancels that request's token with client_disconnected, while its handler reads nothing.
//    The handler registers a callback on its token that reads the clock; the client reads it just
//    before close(). One request per connection, one at a time; p50/p90/p99/p99.9/max.
// 2. Memory per idle kept-alive connection: the process's resident set before and after opening
//    that many connections that each completed one request and then sit idle.
//
//   http_disconnect_latency [samples (default 2000)] [idle connections (default 2000)] [io threads (2)]

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <halt/asio.hpp>
#include <halt/http/response.hpp>
#include <halt/http/server.hpp>

namespace http = halt::http;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct probe {
    std::mutex mutex;
    std::condition_variable changed;
    bool handler_running = false;
    bool handler_exited = false;
    clock_type::time_point cancelled_at{};
    std::error_code reason;
};

int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool send_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
        if (sent <= 0) return false;
        text.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

/// Reads one whole response to GET /hello (its body is "hello").
bool read_hello(int fd) {
    std::string received;
    char chunk[1024];
    for (int reads = 0; reads < 1000; ++reads) {
        if (received.find("\r\n\r\nhello") != std::string::npos) return true;
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        received.append(chunk, static_cast<std::size_t>(n));
    }
    return false;
}

long resident_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
}

double percentile(const std::vector<double>& sorted, double p) {
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    const int samples = argc > 1 ? std::atoi(argv[1]) : 2000;
    const int idle_connections = argc > 2 ? std::atoi(argv[2]) : 2000;
    const unsigned io_threads = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 2;

    probe state;
    http::router routes;
    routes.map_get("/hang", [&state](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
        const halt::token token = ctx.request_aborted();
        // Runs on the thread that cancels, inside the cancel: the moment the server decided.
        halt::registration stamp = token.on_cancel([&state](const std::error_code& reason) {
            const auto now = clock_type::now();
            {
                std::lock_guard lock(state.mutex);
                state.cancelled_at = now;
                state.reason = reason;
            }
            state.changed.notify_all();
        });
        {
            std::lock_guard lock(state.mutex);
            state.handler_running = true;
        }
        state.changed.notify_all();
        struct on_exit {
            probe& state;
            ~on_exit() {
                {
                    std::lock_guard lock(state.mutex);
                    state.handler_exited = true;
                }
                state.changed.notify_all();
            }
        } exit_signal{state};
        co_await halt::delay(1h, token);
        co_return http::make_response(http::status::ok);
    });
    routes.map_get("/hello", [](http::request_context&) -> boost::asio::awaitable<http::response> {
        co_return http::make_response(http::status::ok, "hello");
    });
    http::server_options options;
    options.port = 0;
    options.io_threads = io_threads;
    options.worker_threads = 1;
    options.handle_signals = false;
    options.access_log = nullptr;
    options.request_timeout.reset();
    options.max_connections = static_cast<std::size_t>(idle_connections) + 100;
    http::server server(std::move(routes), options);
    server.start();
    const unsigned short port = server.local_endpoint().port();

    // --- 1. disconnect-to-token latency ---
    std::vector<double> latencies_us;
    latencies_us.reserve(static_cast<std::size_t>(samples));
    int failures = 0;
    for (int i = 0; i < samples + 50 && failures < 10; ++i) {  // the first 50 are warm-up
        {
            std::lock_guard lock(state.mutex);
            state.handler_running = state.handler_exited = false;
            state.cancelled_at = {};
        }
        const int fd = connect_to(port);
        if (fd < 0 || !send_all(fd, "GET /hang HTTP/1.1\r\nHost: bench\r\n\r\n")) {
            ++failures;
            if (fd >= 0) ::close(fd);
            continue;
        }
        {
            std::unique_lock lock(state.mutex);
            if (!state.changed.wait_for(lock, 10s, [&] { return state.handler_running; })) {
                ++failures;
                ::close(fd);
                continue;
            }
        }
        const auto closed_at = clock_type::now();
        ::close(fd);
        std::unique_lock lock(state.mutex);
        if (!state.changed.wait_for(lock, 10s, [&] { return state.handler_exited; }) ||
            state.reason != halt::errc::client_disconnected) {
            ++failures;
            continue;
        }
        if (i >= 50) {
            latencies_us.push_back(std::chrono::duration<double, std::micro>(state.cancelled_at - closed_at).count());
        }
    }
    if (latencies_us.empty()) {
        std::fprintf(stderr, "no samples (%d failures)\n", failures);
        return 1;
    }
    std::sort(latencies_us.begin(), latencies_us.end());
    std::printf("disconnect_to_token_us samples=%zu failures=%d p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f\n",
                latencies_us.size(), failures, percentile(latencies_us, 0.50), percentile(latencies_us, 0.90),
                percentile(latencies_us, 0.99), percentile(latencies_us, 0.999), latencies_us.back());

    // --- 2. memory per idle connection ---
    const auto open_idle = [&](int count, std::vector<int>& fds) {
        for (int i = 0; i < count; ++i) {
            const int fd = connect_to(port);
            if (fd < 0 || !send_all(fd, "GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n") || !read_hello(fd)) {
                std::fprintf(stderr, "idle connection %d failed\n", i);
                if (fd >= 0) ::close(fd);
                return false;
            }
            fds.push_back(fd);
        }
        return true;
    };
    std::vector<int> fds;
    fds.reserve(static_cast<std::size_t>(idle_connections));
    open_idle(std::min(200, idle_connections), fds);  // warm-up: allocator arenas, recycled handler memory
    for (const int fd : fds) ::close(fd);
    fds.clear();
    for (int i = 0; i < 1000 && server.metrics().connections_open() > 0; ++i) std::this_thread::sleep_for(1ms);

    const long before = resident_kib();
    const bool opened = open_idle(idle_connections, fds);
    const long after = resident_kib();
    if (opened && before > 0 && after > 0) {
        std::printf("idle_connections=%d rss_before_kib=%ld rss_after_kib=%ld bytes_per_idle_connection=%.0f\n",
                    idle_connections, before, after,
                    static_cast<double>(after - before) * 1024.0 / static_cast<double>(idle_connections));
    }
    for (const int fd : fds) ::close(fd);
    server.stop(0ms);
    server.wait();
    return 0;
}
