#pragma once
// What a server's connections share: options, routes, counters, lifetime and the io_context. Private
// to halt_http.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <halt/http/lifetime.hpp>
#include <halt/http/metrics.hpp>
#include <halt/http/request_context.hpp>
#include <halt/http/router.hpp>
#include <halt/http/server.hpp>
#include <halt/http/server_options.hpp>
#include <halt/source.hpp>

namespace halt::http::detail {

namespace asio = boost::asio;

/// The server's own access to a context's fields.
struct context_access {
    static void bind(request_context& context, halt::token aborted, std::string_view route,
                     std::vector<std::pair<std::string_view, std::string>> parameters,
                     const asio::ip::tcp::endpoint& remote, http::lifetime* lifetime) {
        context.aborted_ = std::move(aborted);
        context.route_ = route;
        context.parameters_ = std::move(parameters);
        context.remote_endpoint_ = remote;
        context.lifetime_ = lifetime;
    }
    static void set_remote(request_context& context, const asio::ip::tcp::endpoint& remote) {
        context.remote_endpoint_ = remote;
    }
};

/// The server's own access to its lifetime's sources.
struct lifetime_access {
    static halt::source& started(http::lifetime& l) noexcept { return l.started_; }
    static halt::source& stopping(http::lifetime& l) noexcept { return l.stopping_; }
    static halt::source& stopped(http::lifetime& l) noexcept { return l.stopped_; }
    static void on_stop(http::lifetime& l, std::function<void()> stop) { l.stop_ = std::move(stop); }
};

class server_state {
public:
    using strand_type = asio::strand<asio::io_context::executor_type>;

    server_state(http::router routes, server_options opts);
    server_state(const server_state&) = delete;
    server_state& operator=(const server_state&) = delete;
    ~server_state();

    void start();
    /// Begins (or shortens) graceful shutdown. Any thread.
    void begin_shutdown(std::chrono::milliseconds grace);
    bool wait_for(std::optional<std::chrono::milliseconds> timeout);
    asio::ip::tcp::endpoint local_endpoint() const;

    /// A connection ended (its destructor). Any thread.
    void connection_ended() noexcept;

    /// True once graceful shutdown began. Relaxed: a hint read on every response (to answer
    /// `Connection: close`); the connections learn it for sure through lifetime.stopping()'s callback.
    bool is_stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

    void log_error(std::string_view message) const noexcept;

    /// When the grace period ran out (abort was cancelled); empty before. Any thread.
    std::optional<std::chrono::steady_clock::time_point> aborted_at() const noexcept {
        const auto ticks = aborted_at_.load(std::memory_order_acquire);
        if (ticks == 0) return std::nullopt;
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks));
    }

    // Read-only once started; shared by every connection.
    const server_options options;
    const http::router router;
    http::metrics metrics;
    http::lifetime lifetime;
    /// Cancelled with errc::shutting_down when the grace period runs out: every request's source is
    /// linked to it, and background services are spawned with it.
    halt::source abort;
    std::vector<background_service> services;

private:
    static std::vector<std::string> route_labels(const http::router& routes);
    void accept();
    void wait_for_signal();
    void on_shutdown_timer(std::uint64_t generation);
    void check_drained();
    void start_service(background_service& service);
    void service_ended() noexcept;
    void join();

    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> running_services_{0};
    std::atomic<bool> stopping_{false};
    /// Release/acquire: stored before abort is cancelled, read by requests that saw that cancellation.
    std::atomic<std::chrono::steady_clock::rep> aborted_at_{0};

    mutable std::mutex mutex_;  // guards the five below
    bool started_ = false;
    asio::ip::tcp::endpoint bound_;
    bool joined_ = false;
    std::optional<std::chrono::milliseconds> early_stop_;  // stop() before start()
    std::vector<std::thread> threads_;

    // Touched only on `control_` once started.
    bool shutdown_begun_ = false;
    bool drained_ = false;
    int signals_received_ = 0;
    std::chrono::steady_clock::time_point shutdown_deadline_{};
    std::uint64_t shutdown_timer_generation_ = 0;

public:
    // Declared last so that they are destroyed first: destroying the io_context destroys pending
    // handlers, which may own connections, whose destructors use everything above.
    asio::thread_pool workers;
    asio::io_context io;
    strand_type control;

private:
    asio::ip::tcp::acceptor acceptor_;
    asio::signal_set signals_;
    asio::steady_timer shutdown_timer_;
    asio::steady_timer accept_retry_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
};

}  // namespace halt::http::detail
