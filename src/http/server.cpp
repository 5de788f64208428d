#include <halt/http/server.hpp>

#include <algorithm>
#include <csignal>
#include <stdexcept>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <halt/asio/co_spawn.hpp>
#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/http/response.hpp>

#include "connection.hpp"
#include "server_state.hpp"

namespace halt::http {
namespace detail {
namespace {

unsigned thread_count(unsigned requested, unsigned minimum) {
    if (requested != 0) return requested;
    return std::max(minimum, std::thread::hardware_concurrency());
}

/// The metrics route, when enabled, is an ordinary route: counted and logged like the others.
http::router with_metrics_route(http::router routes, const server_options& options, server_state* state) {
    if (!options.enable_metrics) return routes;
    route_options no_timeout;
    no_timeout.timeout = route_timeout::disabled();
    routes.map(verb::get, options.metrics_path, handler([state](request_context&) -> asio::awaitable<response> {
                   response reply = make_response(status::ok, state->metrics.prometheus_text(),
                                                  "text/plain; version=0.0.4; charset=utf-8");
                   co_return reply;
               }),
               no_timeout);
    return routes;
}

}  // namespace

std::vector<std::string> server_state::route_labels(const http::router& routes) {
    std::vector<std::string> labels;
    labels.reserve(routes.routes().size());
    for (const auto& entry : routes.routes()) labels.push_back(entry->pattern);
    return labels;
}

server_state::server_state(http::router routes, server_options opts)
    : options(std::move(opts)),
      router(with_metrics_route(std::move(routes), options, this)),
      metrics(route_labels(router)),
      workers(thread_count(options.worker_threads, 4)),
      io(static_cast<int>(thread_count(options.io_threads, 1))),
      control(asio::make_strand(io)),
      acceptor_(control),
      signals_(control),
      shutdown_timer_(control),
      accept_retry_(control) {
    lifetime_access::on_stop(lifetime, [this] { begin_shutdown(options.shutdown_timeout); });
}

server_state::~server_state() {
    // The server's destructor has stopped and joined everything; what is left here is quiet.
    workers.join();
}

void server_state::log_error(std::string_view message) const noexcept {
    if (!options.error_log) return;
    try {
        options.error_log(message);
    } catch (...) {
    }
}

void server_state::start() {
    std::optional<std::chrono::milliseconds> early_stop;
    {
        std::lock_guard lock(mutex_);
        if (started_) throw std::logic_error("halt::http::server: start() called twice");
        started_ = true;
        early_stop = early_stop_;
    }
    try {
        const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(options.address), options.port);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(asio::socket_base::max_listen_connections);
        std::lock_guard lock(mutex_);
        bound_ = acceptor_.local_endpoint();
    } catch (...) {
        // Not started after all: the destructor must not wait for a shutdown that cannot happen.
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        std::lock_guard lock(mutex_);
        started_ = false;
        throw;
    }

    work_.emplace(io.get_executor());
    // No io thread runs yet, so the control strand's objects may be used from here. The signals are
    // caught before start() returns: a SIGTERM right after it must not kill the process.
    if (options.handle_signals) {
        signals_.add(SIGINT);
        signals_.add(SIGTERM);
        wait_for_signal();
    }
    accept();
    for (background_service& service : services) start_service(service);
    {
        std::lock_guard lock(mutex_);
        const unsigned count = thread_count(options.io_threads, 1);
        for (unsigned i = 0; i < count; ++i) {
            threads_.emplace_back([this] {
                for (;;) {
                    try {
                        io.run();
                        return;
                    } catch (const std::exception& e) {
                        log_error(std::string("an io thread caught: ") + e.what());
                    } catch (...) {
                        log_error("an io thread caught an exception not derived from std::exception");
                    }
                }
            });
        }
    }
    lifetime_access::started(lifetime).cancel();
    if (early_stop) begin_shutdown(*early_stop);
}

void server_state::accept() {
    acceptor_.async_accept(asio::make_strand(io), [this](const boost::system::error_code& error,
                                                         asio::ip::tcp::socket socket) {
        if (error) {
            if (!acceptor_.is_open() || error == asio::error::operation_aborted) return;  // shutting down
            // Out of descriptors or memory: try again shortly rather than spin.
            log_error("accept failed: " + error.message());
            accept_retry_.expires_after(std::chrono::milliseconds(100));
            accept_retry_.async_wait([this](const boost::system::error_code& e) {
                if (!e && acceptor_.is_open()) accept();
            });
            return;
        }
        if (options.max_connections != 0 && connections_.load(std::memory_order_relaxed) >= options.max_connections) {
            metrics.connection_rejected();
            boost::system::error_code ignored;
            socket.close(ignored);
        } else {
            connections_.fetch_add(1, std::memory_order_relaxed);
            std::make_shared<connection>(*this, std::move(socket))->start();
        }
        accept();
    });
}

void server_state::wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& error, int) {
        if (error || drained_) return;
        // The first signal begins graceful shutdown; a second one ends the grace period now. Wait for
        // the next one first: begin_shutdown() may drain at once, right here, and its cancel() must
        // find that wait (a wait armed after it would keep the io_context running forever).
        ++signals_received_;
        wait_for_signal();
        begin_shutdown(signals_received_ == 1 ? options.shutdown_timeout : std::chrono::milliseconds(0));
    });
}

void server_state::start_service(background_service& service) {
    running_services_.fetch_add(1, std::memory_order_relaxed);
    auto done = asio::bind_executor(control, [this](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const halt::canceled_error&) {
                // Cancelled: the shutdown's grace period ran out, or it honoured its stopping token.
            } catch (const boost::system::system_error& e) {
                if (e.code() != asio::error::operation_aborted) {
                    log_error(std::string("a background service failed: ") + e.what());
                    begin_shutdown(options.shutdown_timeout);
                }
            } catch (const std::exception& e) {
                // As .NET's BackgroundServiceExceptionBehavior.StopHost: a failed service stops the host.
                log_error(std::string("a background service failed: ") + e.what());
                begin_shutdown(options.shutdown_timeout);
            } catch (...) {
                log_error("a background service failed with an exception not derived from std::exception");
                begin_shutdown(options.shutdown_timeout);
            }
        }
        service_ended();
    });
    try {
        halt::co_spawn(asio::make_strand(io), service(lifetime.stopping()), abort.token(), std::move(done));
    } catch (...) {
        asio::post(control, [done = std::move(done), error = std::current_exception()]() mutable { done(error); });
    }
}

void server_state::service_ended() noexcept {
    if (running_services_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping_.load(std::memory_order_acquire)) {
        asio::post(control, [this] { check_drained(); });
    }
}

void server_state::connection_ended() noexcept {
    // Acq_rel/acquire: whoever sees the last connection end while stopping posts the check; the
    // check itself reads the counters on the control strand.
    if (connections_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping_.load(std::memory_order_acquire)) {
        try {
            asio::post(control, [this] { check_drained(); });
        } catch (...) {
        }
    }
}

void server_state::begin_shutdown(std::chrono::milliseconds grace) {
    {
        std::lock_guard lock(mutex_);
        if (!started_) {
            early_stop_ = early_stop_ ? std::min(*early_stop_, grace) : grace;
            return;
        }
    }
    asio::dispatch(control, [this, grace] {
        if (drained_) return;
        const auto deadline = std::chrono::steady_clock::now() + grace;
        if (!shutdown_begun_) {
            shutdown_begun_ = true;
            stopping_.store(true, std::memory_order_release);
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            accept_retry_.cancel();
            // Idle connections close; busy ones finish their request with Connection: close; background
            // services see their stopping token.
            lifetime_access::stopping(lifetime).cancel(make_error_code(halt::errc::shutting_down));
        } else if (deadline >= shutdown_deadline_) {
            return;  // a later call only ever shortens the grace period
        }
        shutdown_deadline_ = deadline;
        const std::uint64_t generation = ++shutdown_timer_generation_;
        shutdown_timer_.expires_at(deadline);
        shutdown_timer_.async_wait([this, generation](const boost::system::error_code& error) {
            if (!error) on_shutdown_timer(generation);
        });
        check_drained();
    });
}

void server_state::on_shutdown_timer(std::uint64_t generation) {
    if (generation != shutdown_timer_generation_ || drained_) return;
    // The grace period is over: every request still running is cancelled with shutting_down (their
    // sources are linked to `abort`), connections not running one close, services are cancelled.
    aborted_at_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_release);
    abort.cancel(make_error_code(halt::errc::shutting_down));
}

void server_state::check_drained() {
    if (!shutdown_begun_ || drained_) return;
    if (connections_.load(std::memory_order_acquire) != 0 || running_services_.load(std::memory_order_acquire) != 0) {
        return;
    }
    drained_ = true;
    shutdown_timer_.cancel();
    signals_.cancel();
    boost::system::error_code ignored;
    signals_.clear(ignored);
    lifetime_access::stopped(lifetime).cancel(make_error_code(halt::errc::shutting_down));
    work_.reset();  // the io threads return once the last handlers ran
}

asio::ip::tcp::endpoint server_state::local_endpoint() const {
    std::lock_guard lock(mutex_);
    return bound_;
}

bool server_state::wait_for(std::optional<std::chrono::milliseconds> timeout) {
    {
        std::lock_guard lock(mutex_);
        if (!started_ || joined_) return true;
    }
    const halt::token stopped = lifetime.stopped();
    if (timeout) {
        if (!stopped.wait_for(*timeout)) return false;
    } else {
        stopped.wait();
    }
    join();
    return true;
}

void server_state::join() {
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        if (joined_) return;
        joined_ = true;
        threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
    workers.join();
}

}  // namespace detail

// --- server -------------------------------------------------------------------------------------

server::server(router routes, server_options options)
    : state_(std::make_unique<detail::server_state>(std::move(routes), std::move(options))) {}

server::~server() {
    stop(std::chrono::milliseconds(0));
    wait();
}

void server::add_background_service(background_service service) {
    if (!service) throw std::invalid_argument("halt::http::server: empty background service");
    if (state_->lifetime.started().is_cancellation_requested()) {
        throw std::logic_error("halt::http::server: add_background_service after start()");
    }
    state_->services.push_back(std::move(service));
}

void server::start() { state_->start(); }

int server::run() {
    start();
    wait();
    return 0;
}

void server::stop() { state_->begin_shutdown(state_->options.shutdown_timeout); }

void server::stop(std::chrono::milliseconds grace) { state_->begin_shutdown(grace); }

void server::wait() { state_->wait_for(std::nullopt); }

bool server::wait_for(std::chrono::milliseconds timeout) { return state_->wait_for(timeout); }

boost::asio::ip::tcp::endpoint server::local_endpoint() const {
    return state_->local_endpoint();
}

http::lifetime& server::lifetime() noexcept { return state_->lifetime; }

const http::metrics& server::metrics() const noexcept { return state_->metrics; }

boost::asio::any_io_executor server::get_executor() const noexcept { return state_->io.get_executor(); }

}  // namespace halt::http
