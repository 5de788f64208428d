#pragma once
// One request's run from "fully read" to "finished", apart from how it is framed on the wire: routing,
// the request's token and deadline, the handler, what its outcome is answered, the access log and
// the metrics. HTTP/1.1's connection drives it today; an HTTP/2 stream would drive it the same way
// (a RST_STREAM is a client_disconnected). Private to halt_http.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <halt/asio/co_spawn.hpp>
#include <halt/http/message.hpp>
#include <halt/http/request_context.hpp>
#include <halt/http/router.hpp>
#include <halt/source.hpp>

namespace halt::http::detail {

class server_state;

class exchange {
public:
    using clock = std::chrono::steady_clock;

    /// `first_byte`: when the request's first byte arrived, the origin of its deadline.
    exchange(server_state& server, http::request message, const boost::asio::ip::tcp::endpoint& remote,
             clock::time_point first_byte);
    exchange(const exchange&) = delete;
    exchange& operator=(const exchange&) = delete;
    ~exchange();

    /// Routes the request and arms its token. Returns what to answer without running a handler (404,
    /// 405, 400 for a malformed timeout header, the timeout status for a spent budget), or
    /// std::nullopt: call run().
    std::optional<http::response> prepare();

    /// Runs the handler on `executor` (the connection's strand) and calls `done(std::exception_ptr,
    /// http::response)` there once it has ended.
    template <class Executor, class Done>
    void run(const Executor& executor, Done&& done) {
        started_at_ = clock::now();
        auto completion = boost::asio::bind_executor(executor, std::forward<Done>(done));
        std::optional<boost::asio::awaitable<http::response>> body;
        try {
            body.emplace(route_->coroutine ? route_->coroutine(context_) : run_blocking());
        } catch (...) {
            // The handler threw before returning its coroutine: report it as its outcome.
            boost::asio::post(executor, [completion = std::move(completion), error = std::current_exception()]() mutable {
                std::move(completion)(error, http::response());
            });
            return;
        }
        halt::co_spawn(executor, std::move(*body), context_.request_aborted(), std::move(completion));
    }

    /// Cancels the request's token (the connection saw the client go), and notes when.
    void cancel(std::error_code reason) {
        if (!source_ || source_->is_cancellation_requested()) return;
        cancel_requested_at_ = clock::now();
        source_->cancel(reason);
    }

    /// The handler ended: what to answer, or std::nullopt to answer nothing (the client is gone).
    std::optional<http::response> on_handler_exit(std::exception_ptr error, http::response result);

    /// Writes the access-log entry and counts the request. Call once, when done with it.
    void finish(unsigned status, bool written) noexcept;

    /// True for a HEAD request: write the header only.
    bool head_only() const noexcept { return head_only_; }
    /// The request's token's reason; empty if not cancelled.
    std::error_code reason() const noexcept { return context_.request_aborted().reason(); }
    unsigned version() const noexcept { return version_; }

private:
    boost::asio::awaitable<http::response> run_blocking();

    server_state& server_;
    request_context context_;
    clock::time_point first_byte_;
    clock::time_point started_at_{};
    const http::route* route_ = nullptr;
    /// Created by prepare() once a route matched.
    std::optional<halt::source> source_;
    /// The request's deadline, as prepare() armed it.
    std::optional<clock::time_point> deadline_;
    /// When cancel() cancelled the token; empty if it did not.
    std::optional<clock::time_point> cancel_requested_at_;
    std::optional<std::chrono::nanoseconds> cancel_to_exit_;
    /// Kept for the access log, which is written after the handler may have moved the request.
    std::string method_;
    std::string target_;
    unsigned version_ = 11;
    bool head_only_ = false;
    bool finished_ = false;
};

/// Logs and counts a request answered before it became an exchange (a malformed request, a limit,
/// a header timeout). `method` and `target` may be empty.
void finish_rejected(server_state& server, const boost::asio::ip::tcp::endpoint& remote, std::string_view method,
                     std::string_view target, unsigned status, bool written,
                     std::chrono::steady_clock::time_point first_byte) noexcept;

}  // namespace halt::http::detail
