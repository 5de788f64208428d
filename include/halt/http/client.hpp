#pragma once
// halt::http::client: an HTTP/1.1 client whose every call a halt::token stops (.NET's
// HttpClient.GetAsync(url, cancellationToken)), on Boost.Beast and Asio.

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/fields.hpp>

#include <halt/http/client_errc.hpp>
#include <halt/http/detail/slot_bridge.hpp>
#include <halt/http/message.hpp>
#include <halt/http/request_timeout.hpp>
#include <halt/http/url.hpp>
#include <halt/source.hpp>
#include <halt/token.hpp>

namespace boost::asio::ssl {
class context;  // <boost/asio/ssl/context.hpp>; only code that sets client_options::tls needs it
}  // namespace boost::asio::ssl

namespace halt::http {

namespace detail {
class client_state;
}  // namespace detail

/// Tuning; the defaults suit a service calling a few upstreams.
struct client_options {
    /// Open connections per host at most (idle and in use); calls beyond wait. At least 1.
    std::size_t max_connections_per_host = 16;
    /// How long an idle connection is kept before it is closed (checked when the pool is used).
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
    /// The largest reply body accepted; a larger one fails with client_errc::body_too_large.
    std::size_t max_body_size = 8 * 1024 * 1024;
    /// The largest reply header accepted; a larger one fails with client_errc::headers_too_large.
    std::size_t max_header_size = 64 * 1024;
    /// Sent as User-Agent unless the call sets its own.
    std::string user_agent = "halt-http-client/0.1";
    /// TLS for https:// URLs. Null (the default): TLS 1.2 or later, the server's certificate verified
    /// against the system's trusted CAs and the URL's host name (or IP address). Set your own context to
    /// trust a private CA or present a client certificate; the client always adds SNI and host name
    /// verification. The context is shared by the client's connections (and may be by several clients):
    /// configure it before the first call, and do not change it afterwards.
    std::shared_ptr<boost::asio::ssl::context> tls;
};

/// An HTTP/1.1 client for http:// and https:// URLs with a keep-alive connection pool, cancelled by
/// halt tokens.
///
///     halt::http::client client(io.get_executor());
///     auto reply = co_await client.get("http://127.0.0.1:8080/data", request_token);
///     std::string body = reply.body();
///
/// Every call takes a halt::token and stops on it in every phase: waiting for a pooled connection,
/// name resolution, connect, the TLS handshake, sending the request, and reading the reply's header
/// and body.
///
/// - Cancelled: the call completes promptly with a halt::canceled_error carrying the token and its
///   reason (errc::deadline_exceeded, errc::client_disconnected, ...). The connection it was using is
///   closed, never pooled. A token already cancelled fails the call before it touches the network.
///   A call cancelled through Asio instead (the awaiting coroutine's own cancellation, a when_any, a
///   slot bound with asio::bind_cancellation_slot; any cancellation type) stops the same way and
///   reports a halt::canceled_error with errc::canceled and no token.
/// - Deadline: the token's deadline() is the call's timeout (the token cancels itself then). The
///   budget left when the request is sent goes with it as the header `X-Request-Timeout-Ms`
///   (request_timeout_header), in whole milliseconds rounded down, so the next hop can stop in time.
/// - Failed: a halt::http::client_error whose code() is a client_errc and whose what() names the
///   host. Replies with any status (404, 500, ...) are replies, not failures.
/// - TLS: https:// URLs are served over OpenSSL (client_options::tls); a failed handshake is
///   client_errc::tls_failed, with OpenSSL's reason in what().
/// - Pool: connections are kept per host ("host:port"), at most client_options::max_connections_per_host
///   open at once; a call beyond that waits (cancellably) for one. A connection goes back to the pool
///   only after a complete reply that allows keep-alive. A pooled connection that the server closed
///   meanwhile is detected, and a request that fails on one before any reply byte arrives is retried
///   once on a new connection.
/// - Thread safety: any number of calls may run at once, from any threads. Each call runs on its own
///   strand of the client's executor; the io_context may be run by many threads.
/// - Lifetime: calls in flight keep what they use alive, so the client may be destroyed before they
///   complete. Destroy it (and let its calls complete) before its io_context.
///
/// The asynchronous members follow Asio's completion-token convention with the signature
/// `void(std::exception_ptr, halt::http::response)`, so they can be awaited (the default,
/// asio::use_awaitable), turned into a std::future (asio::use_future) or given a callback.
/// blocking_client serves code that is not asynchronous.
class client {
public:
    /// The executor calls run on (each on a strand of it).
    using executor_type = boost::asio::any_io_executor;

    /// A client whose calls run on `executor` (normally an io_context's). Allocates; never blocks.
    explicit client(executor_type executor, client_options opts = {});

    /// A client whose calls run on `context`'s executor.
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
    explicit client(ExecutionContext& context, client_options opts = {})
        : client(executor_type(context.get_executor()), std::move(opts)) {}

    client(const client&) = delete;
    client& operator=(const client&) = delete;
    /// A moved-from client has no state: only destroying or assigning to it is allowed.
    client(client&&) noexcept = default;
    client& operator=(client&&) noexcept;

    /// Closes the idle connections. Calls in flight go on and complete normally; the connections they
    /// hold are closed, not pooled, when they finish. Never blocks.
    ~client();

    /// GET `url`: request(verb::get, url, {}, {}, tok, completion_token).
    template <class CompletionToken = boost::asio::use_awaitable_t<>>
    auto get(std::string_view url, halt::token tok, CompletionToken&& completion_token = CompletionToken()) {
        return request(verb::get, url, {}, {}, std::move(tok),
                       std::forward<CompletionToken>(completion_token));
    }

    /// Sends `method url` with `headers` and `body`, and completes with the reply
    /// (`void(std::exception_ptr, response)`; awaited by default).
    ///
    /// `url` must be an absolute http:// or https:// URL. Host, User-Agent and Content-Length are added unless
    /// `headers` has them (Content-Length always matches `body`); X-Request-Timeout-Ms is set when
    /// `tok` has a deadline. Completes, never inside this call, with the reply, a halt::canceled_error
    /// or a halt::http::client_error (malformed_url, unsupported_scheme, resolve_failed, ...).
    /// Strings are copied: nothing passed in needs to outlive the call.
    template <class CompletionToken = boost::asio::use_awaitable_t<>>
    auto request(verb method, std::string_view url, boost::beast::http::fields headers,
                 std::string body, halt::token tok, CompletionToken&& completion_token = CompletionToken()) {
        return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, response)>(
            initiate_call{executor_, state_}, completion_token, method, std::string(url), std::move(headers),
            std::move(body), std::move(tok));
    }

    /// The executor the calls run on.
    executor_type get_executor() const noexcept { return executor_; }

    /// Connections of one host ("host:port", as url::authority() gives it; "https://host:port" for
    /// TLS connections, which are pooled apart) right now: open (idle, in use or connecting), idle,
    /// and calls waiting for one. For tests and metrics; thread-safe.
    struct pool_counts {
        std::size_t open = 0;
        std::size_t idle = 0;
        std::size_t waiting = 0;
    };
    pool_counts pool_counts_for(std::string_view authority) const;

private:
    /// The call as a coroutine, co_spawned by request(). It owns copies of everything it uses,
    /// including a share of the client's state, so that it may outlive the client. `tok` stops the
    /// call; a cancellation is reported with `reported`'s reason and token when `reported` is
    /// cancelled, else as errc::canceled with no token (the caller's Asio cancellation). In client.cpp.
    static boost::asio::awaitable<response> start(std::shared_ptr<detail::client_state> state,
                                                  verb method, std::string url,
                                                  boost::beast::http::fields headers, std::string body,
                                                  halt::token tok, halt::token reported);

    /// Starts a call on its own strand. A caller's cancellation slot is bridged to a source linked to
    /// the call's token, never given to co_spawn (detail/slot_bridge.hpp says why).
    struct initiate_call {
        executor_type executor;
        std::shared_ptr<detail::client_state> state;

        template <class Handler>
        void operator()(Handler&& handler, verb method, std::string url, boost::beast::http::fields headers,
                        std::string body, halt::token tok) const {
            auto caller_slot = boost::asio::get_associated_cancellation_slot(handler);
            halt::token stops_call = tok;
            if (caller_slot.is_connected()) {
                halt::source call_source = halt::source::linked(tok);
                caller_slot.template emplace<detail::slot_canceller>(call_source);
                stops_call = call_source.token();
            }
            auto call = start(state, method, std::move(url), std::move(headers), std::move(body), std::move(stops_call),
                              std::move(tok));
            auto strand = boost::asio::make_strand(executor);
            if (caller_slot.is_connected()) {
                boost::asio::co_spawn(strand, std::move(call),
                                      detail::without_slot<std::decay_t<Handler>>(std::forward<Handler>(handler)));
            } else {
                boost::asio::co_spawn(strand, std::move(call), std::forward<Handler>(handler));
            }
        }
    };

    executor_type executor_;
    std::shared_ptr<detail::client_state> state_;
};

/// A client for code that is not asynchronous: each call blocks the calling thread until the reply,
/// the failure or the cancellation (the article's `httpClient.GetAsync(url, token).Result` caller).
///
///     halt::http::blocking_client http;
///     auto reply = http.get("http://127.0.0.1:8080/data", tok);  // throws canceled_error on cancel
///
/// It owns a private io_context and one thread that runs it, and a halt::http::client on it; calls
/// behave exactly as that client's (same errors, cancellation, deadline header and pool). Any number of
/// threads may call at once. Cancelling the token from another thread (or its deadline) makes the
/// blocked call return promptly with halt::canceled_error.
class blocking_client {
public:
    /// Starts the io thread. Throws std::system_error if it cannot.
    explicit blocking_client(client_options opts = {});
    blocking_client(const blocking_client&) = delete;
    blocking_client& operator=(const blocking_client&) = delete;
    /// Closes the pool and joins the io thread. No call may be in progress.
    ~blocking_client();

    /// GET `url`; blocks. Returns the reply or throws canceled_error / client_error.
    response get(std::string_view url, const halt::token& tok);

    /// As client::request, blocking.
    response request(verb method, std::string_view url, boost::beast::http::fields headers, std::string body,
                     const halt::token& tok);

    /// The underlying asynchronous client (its executor is the private io_context's).
    http::client& async_client() noexcept;

private:
    struct runtime;
    std::unique_ptr<runtime> runtime_;
};

}  // namespace halt::http
