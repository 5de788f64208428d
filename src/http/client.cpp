#include <halt/http/client.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/http/detail/client_pool.hpp>
#include <halt/registration.hpp>

#include "client_tls.hpp"

namespace halt::http {

namespace detail {

/// What a client shares with its calls in flight.
class client_state {
public:
    client_state(client::executor_type executor, client_options opts)
        : executor(std::move(executor)),
          options(std::move(opts)),
          pool(options.max_connections_per_host, options.idle_timeout) {}

    /// client_options::tls, or the default context, made at the first https call (loading the
    /// system's CAs takes a while and http-only clients never need it). Thread-safe.
    boost::asio::ssl::context& tls_context() {
        if (options.tls != nullptr) return *options.tls;
        std::call_once(default_tls_once_, [this] { default_tls_ = make_default_tls_context(); });
        return *default_tls_;
    }

    const client::executor_type executor;
    const client_options options;
    connection_pool pool;

private:
    std::once_flag default_tls_once_;
    std::shared_ptr<boost::asio::ssl::context> default_tls_;
};

}  // namespace detail

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

/// The completion token of every step of a call: results as a tuple, so that failures are classified
/// here rather than thrown by Asio. The token reaches the steps through the call's call_canceller.
constexpr auto step = asio::as_tuple(asio::use_awaitable);

/// The phase a failure happened in decides what it is reported as.
enum class phase { resolve, connect, tls_handshake, exchange };

[[noreturn]] void throw_canceled(const halt::token& tok) {
    if (tok.is_cancellation_requested()) throw halt::canceled_error(tok);
    // Cancelled through Asio (the awaiting coroutine's own cancellation), not by the token.
    throw halt::canceled_error(make_error_code(halt::errc::canceled));
}

client_errc classify(phase where, const error_code& error) {
    switch (where) {
        case phase::resolve: return client_errc::resolve_failed;
        case phase::connect:
            return error == asio::error::connection_refused ? client_errc::connection_refused
                                                            : client_errc::connection_failed;
        case phase::tls_handshake:
            return error == asio::error::connection_reset || error == asio::error::broken_pipe
                       ? client_errc::connection_reset
                       : client_errc::tls_failed;
        case phase::exchange: break;
    }
    if (error == bhttp::error::body_limit) return client_errc::body_too_large;
    if (error == bhttp::error::header_limit) return client_errc::headers_too_large;
    if (error == bhttp::error::end_of_stream || error == bhttp::error::partial_message || error == asio::error::eof ||
        error == asio::ssl::error::stream_truncated) {
        return client_errc::connection_closed;
    }
    if (error == asio::error::connection_reset || error == asio::error::broken_pipe ||
        error == asio::error::connection_aborted) {
        return client_errc::connection_reset;
    }
    // Every other Beast HTTP error is the parser rejecting what it read.
    if (error.category() == make_error_code(bhttp::error::bad_version).category()) return client_errc::not_http_reply;
    return client_errc::connection_failed;
}

/// Reports `error` from `where`: as the token's cancellation when it was cancelled (whatever the
/// error, which is then only a symptom), otherwise as a client_error naming `host`.
[[noreturn]] void fail(phase where, const error_code& error, const std::string& host, const halt::token& tok) {
    if (tok.is_cancellation_requested() || error == asio::error::operation_aborted) throw_canceled(tok);
    throw client_error(classify(where, error), host, error);
}

/// A failure that says the server closed a kept-alive connection while it was idle.
bool is_stale_connection(const error_code& error) {
    return error == bhttp::error::end_of_stream || error == asio::error::eof ||
           error == asio::ssl::error::stream_truncated ||
           error == asio::error::connection_reset || error == asio::error::broken_pipe ||
           error == asio::error::connection_aborted;
}

/// True if an idle connection can still carry a request: nothing is readable on it. A server that
/// closed it left an end of stream (or a reset) there, and bytes nobody asked for mean it is out of
/// step; either way it is not reused. One non-blocking peek.
bool is_reusable_idle(detail::client_connection& connection) {
    error_code error;
    connection.socket.non_blocking(true, error);
    if (error) return false;
    char byte = 0;
    connection.socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, error);
    error_code ignored;
    connection.socket.non_blocking(false, ignored);
    return error == asio::error::would_block;
}

/// What a call holds from the pool, given back exactly once when the call is done with it: kept for
/// reuse only if keep() was called, otherwise closed.
class lease {
public:
    lease(std::shared_ptr<detail::client_state> state, const std::string& host, detail::client_grant grant)
        : state_(std::move(state)), host_(host), connection_(std::move(grant.connection)) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { state_->pool.release(host_, std::move(connection_), reusable_); }

    /// The lent connection, or null for a slot not yet connected.
    detail::client_connection* connection() noexcept { return connection_.get(); }

    /// Replaces whatever connection is held by a new, unconnected one, in the same slot.
    detail::client_connection& renew() {
        if (connection_ != nullptr) {
            error_code ignored;
            connection_->socket.close(ignored);
        }
        connection_ = std::make_unique<detail::client_connection>(state_->executor);
        return *connection_;
    }

    /// The connection may be reused once it is given back.
    void keep() noexcept { reusable_ = true; }

private:
    std::shared_ptr<detail::client_state> state_;
    const std::string& host_;
    std::unique_ptr<detail::client_connection> connection_;
    bool reusable_ = false;
};

/// Stops a call's I/O when its token is cancelled: one halt registration for the whole call, whose
/// callback posts to the call's strand a handler that closes the call's socket and cancels its
/// pool wait, whichever the call is doing.
///
/// Why not halt::bind on each operation (what halt::asio offers):
/// - A cancellation reaches an Asio operation through its slot once, when it is emitted. Beast's
///   composed operations (http::async_read, http::async_write) run one socket operation after
///   another and do not remember a cancellation that arrives between two of them, so the emit can
///   find nothing to cancel and the next read waits forever. A closed socket cannot be missed: the
///   pending operation ends and every later one fails at once.
/// - halt::bind's poster lets the operation complete before its own asio::post has returned, so a
///   caller that destroys the io_context right after the cancelled call completes races the
///   cancelling thread still inside that post (ThreadSanitizer: heap-use-after-free in the strand).
///   Here the registration is destroyed, before the call completes, by ~call_canceller, and the
///   core makes that wait for a callback running on another thread: the post is over by then.
///
/// Race: the handler is posted, so it may run after the call has moved on, or finished with the
/// socket and given the connection back to the pool (where another call may use it). What it may
/// touch is set and cleared by the call on the same strand (watch(), the guards' destructors), so it
/// only ever reaches what the call is using at that moment; a call never pools a connection once its
/// token is cancelled, and checks the token before each wait it starts.
class call_canceller {
public:
    call_canceller(const halt::token& tok, const asio::any_io_executor& strand)
        : targets_(std::make_shared<targets>()) {
        registration_ = tok.on_cancel([targets = targets_, strand] {
            try {
                asio::post(strand, [targets] { targets->stop(); });
            } catch (...) {
                // Out of memory: the call then ends at its next check of the token, or not at all
                // while it waits; nothing better can be done on the cancelling thread.
            }
        });
    }
    call_canceller(const call_canceller&) = delete;
    call_canceller& operator=(const call_canceller&) = delete;
    ~call_canceller() {
        registration_ = halt::registration();  // waits for a callback running on another thread
        targets_->socket = nullptr;
        targets_->timer = nullptr;
    }

    /// Stops `target` while the returned guard lives. On the call's strand.
    template <class Target>
    [[nodiscard]] auto watch(Target& target) {
        Target*& slot = slot_for<Target>();
        slot = &target;
        struct guard {
            explicit guard(Target*& watched) noexcept : slot(watched) {}
            Target*& slot;
            guard(const guard&) = delete;
            guard& operator=(const guard&) = delete;
            ~guard() { slot = nullptr; }
        };
        return guard(slot);
    }

private:
    /// Touched only on the call's strand.
    struct targets {
        tcp::socket* socket = nullptr;
        asio::steady_timer* timer = nullptr;

        void stop() {
            error_code ignored;
            if (socket != nullptr) socket->close(ignored);
            if (timer != nullptr) timer->cancel();
        }
    };

    template <class Target>
    Target*& slot_for() {
        if constexpr (std::is_same_v<Target, tcp::socket>) {
            return targets_->socket;
        } else {
            return targets_->timer;
        }
    }

    std::shared_ptr<targets> targets_;
    halt::registration registration_;
};

/// Waits for the pool to give this call a connection or a slot; the wait stops on the token.
asio::awaitable<detail::client_grant> acquire(detail::client_state& state, const std::string& host,
                                              const halt::token& tok, call_canceller& canceller) {
    auto waiter = std::make_shared<detail::client_waiter>(co_await asio::this_coro::executor);
    if (auto grant = state.pool.acquire(host, waiter)) co_return std::move(*grant);

    // Queued. Whatever happens now (cancelled, failed, the coroutine destroyed unfinished), the
    // guard leaves the queue or passes on a grant that arrived meanwhile.
    struct abandon_guard {
        detail::connection_pool& pool;
        const std::string& host;
        const std::shared_ptr<detail::client_waiter>& waiter;
        bool armed = true;
        ~abandon_guard() {
            if (armed) pool.abandon(host, waiter);
        }
    } guard{state.pool, host, waiter};
    const auto watched = canceller.watch(waiter->wake);
    for (;;) {
        // A cancellation that came before the watch found no timer; one that comes later finds the
        // wait below, which starts before this strand runs anything else.
        if (tok.is_cancellation_requested()) throw_canceled(tok);
        // The timer never expires: it ends when the pool wakes it, the token cancels it, or Asio does.
        auto [error] = co_await waiter->wake.async_wait(step);
        if (auto grant = state.pool.take_grant(waiter)) {
            guard.armed = false;
            co_return std::move(*grant);
        }
        if (error) throw_canceled(tok);
    }
}

/// The addresses of the target's host. An IP address needs no lookup. A name is looked up with Asio's
/// resolver, which cannot interrupt a getaddrinfo in progress; so the lookup races the token, and a
/// cancelled call returns at once, abandoning the lookup (it ends in the background, unobserved).
asio::awaitable<std::vector<tcp::endpoint>> resolve(const url& target, const std::string& host, const halt::token& tok) {
    error_code literal_error;
    const asio::ip::address address = asio::ip::make_address(target.host, literal_error);
    if (!literal_error) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, target.port)};

    // Both outcomes and the waiting coroutine meet on the call's strand: `done`, `error` and
    // `results` are only touched there, so whichever comes first wins without a lock.
    struct race {
        explicit race(const asio::any_io_executor& executor) : wake(executor, asio::steady_timer::time_point::max()) {}
        asio::steady_timer wake;
        bool done = false;
        error_code error;
        tcp::resolver::results_type results;

        void finish(const error_code& outcome, tcp::resolver::results_type found) {
            if (done) return;
            done = true;
            error = outcome;
            results = std::move(found);
            wake.cancel();
        }
    };
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    auto shared = std::make_shared<race>(executor);
    tcp::resolver resolver(executor);
    resolver.async_resolve(target.host, std::to_string(target.port), tcp::resolver::numeric_service,
                           asio::bind_executor(executor, [shared](error_code error, tcp::resolver::results_type found) {
                               shared->finish(error, std::move(found));
                           }));
    const halt::registration on_cancel = tok.on_cancel([shared, executor] {
        try {
            asio::post(executor, [shared] { shared->finish(asio::error::operation_aborted, {}); });
        } catch (...) {
            // Out of memory: the lookup still ends the wait, only later.
        }
    });
    if (!shared->done) {
        // Ended by finish() (operation_aborted), or by Asio cancelling this coroutine.
        std::ignore = co_await shared->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        shared->finish(asio::error::operation_aborted, {});  // no-op unless Asio cancelled us
    }
    if (shared->error) fail(phase::resolve, shared->error, host, tok);
    if (shared->results.empty()) fail(phase::resolve, asio::error::host_not_found, host, tok);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : shared->results) endpoints.push_back(entry.endpoint());
    co_return endpoints;
}

/// Connects to the first address that accepts. Refused by all: connection_refused.
asio::awaitable<void> connect(detail::client_connection& connection, const std::vector<tcp::endpoint>& endpoints,
                              const std::string& host, const halt::token& tok) {
    error_code last = asio::error::host_not_found;
    for (const tcp::endpoint& endpoint : endpoints) {
        // The call_canceller may have closed the socket between two attempts; async_connect would
        // reopen it.
        if (tok.is_cancellation_requested()) break;
        error_code ignored;
        connection.socket.close(ignored);
        auto [error] = co_await connection.socket.async_connect(endpoint, step);
        if (!error) {
            connection.socket.set_option(tcp::no_delay(true), ignored);
            co_return;
        }
        last = error;
        if (error == asio::error::operation_aborted || tok.is_cancellation_requested()) break;
    }
    fail(phase::connect, last, host, tok);
}

/// What one call asks for.
struct call {
    bhttp::verb method;
    url target;
    std::string host;  // target.authority(), for messages
    std::string pool_key;  // the host, "https://" + host for TLS connections
    bhttp::fields headers;
    std::string body;
    halt::token tok;

    bool uses_tls() const noexcept { return target.scheme == "https"; }
};

/// Sends the request and reads the reply on a connected connection. Returns nothing when the
/// connection turned out to be stale and `may_retry` allows trying again on a new one.
template <class Stream>
asio::awaitable<std::optional<response>> exchange_on(Stream& stream, lease& held, const call& request_call,
                                                     const client_options& options, bool may_retry) {
    const halt::token& tok = request_call.tok;
    tcp::socket& socket = held.connection()->socket;

    bhttp::request<bhttp::string_body> request(request_call.method, request_call.target.target, 11);
    for (const auto& field : request_call.headers) request.insert(field.name_string(), field.value());
    if (request.find(bhttp::field::host) == request.end()) request.set(bhttp::field::host, request_call.target.host_header());
    if (request.find(bhttp::field::user_agent) == request.end()) request.set(bhttp::field::user_agent, options.user_agent);
    if (const auto deadline = tok.deadline()) {
        // The budget left now, rounded down so that the next hop never believes it has more.
        const std::string budget = format_request_timeout_ms(*deadline - std::chrono::steady_clock::now());
        request.set(beast::string_view(request_timeout_header.data(), request_timeout_header.size()), budget);
    }
    request.body() = request_call.body;
    request.prepare_payload();

    auto [write_error, written] = co_await bhttp::async_write(stream, request, step);
    if (write_error) {
        if (may_retry && is_stale_connection(write_error) && !tok.is_cancellation_requested()) co_return std::nullopt;
        fail(phase::exchange, write_error, request_call.host, tok);
    }

    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(static_cast<std::uint64_t>(options.max_body_size));
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.max_header_size, std::numeric_limits<std::uint32_t>::max())));
    if (request_call.method == bhttp::verb::head) parser.skip(true);
    auto [read_error, read] = co_await bhttp::async_read(stream, buffer, parser, step);
    if (read_error) {
        if (may_retry && !parser.got_some() && is_stale_connection(read_error) && !tok.is_cancellation_requested()) {
            co_return std::nullopt;
        }
        fail(phase::exchange, read_error, request_call.host, tok);
    }
    // Reusable only in step with the server (keep-alive agreed, no byte beyond this reply) and never
    // after a cancellation, which may have closed the socket (call_canceller) or cut an operation.
    if (parser.keep_alive() && buffer.size() == 0 && socket.is_open() && !tok.is_cancellation_requested()) held.keep();
    co_return parser.release();
}

asio::awaitable<std::optional<response>> exchange(lease& held, const call& request_call, const client_options& options,
                                                  bool may_retry) {
    detail::client_connection& connection = *held.connection();
    if (connection.tls != nullptr) co_return co_await exchange_on(connection.tls->stream, held, request_call, options, may_retry);
    co_return co_await exchange_on(connection.socket, held, request_call, options, may_retry);
}

asio::awaitable<response> perform(std::shared_ptr<detail::client_state> state, call request_call) {
    const halt::token& tok = request_call.tok;
    if (tok.is_cancellation_requested()) throw halt::canceled_error(tok);

    call_canceller canceller(tok, co_await asio::this_coro::executor);
    for (int attempt = 0;; ++attempt) {
        lease held(state, request_call.pool_key, co_await acquire(*state, request_call.pool_key, tok, canceller));
        if (tok.is_cancellation_requested()) {
            held.keep();  // an idle connection this call never used goes back as it came
            throw halt::canceled_error(tok);
        }
        const bool reused = held.connection() != nullptr && is_reusable_idle(*held.connection());
        detail::client_connection& connection = reused ? *held.connection() : held.renew();
        const auto watched = canceller.watch(connection.socket);  // unwatched before `held` gives it back
        if (!reused) {
            const std::vector<tcp::endpoint> endpoints = co_await resolve(request_call.target, request_call.host, tok);
            co_await connect(connection, endpoints, request_call.host, tok);
            if (request_call.uses_tls()) {
                if (const error_code error = co_await detail::tls_handshake(connection, state->tls_context(),
                                                                            request_call.target.host)) {
                    fail(phase::tls_handshake, error, request_call.host, tok);
                }
            }
        }
        // A request that dies on a reused connection before any reply byte is retried once; a
        // fresh connection's failure is the server's answer.
        if (auto reply = co_await exchange(held, request_call, state->options, reused && attempt == 0)) {
            co_return std::move(*reply);
        }
    }
}

}  // namespace

asio::awaitable<response> client::start(std::shared_ptr<detail::client_state> state, bhttp::verb method,
                                                std::string text, bhttp::fields headers, std::string body,
                                                halt::token tok, halt::token reported) {
    const url target = url::parse(text);  // throws malformed_url / unsupported_scheme
    std::string host = target.authority();
    std::string pool_key = target.scheme == "https" ? "https://" + host : host;
    call request_call{method, target, std::move(host), std::move(pool_key), std::move(headers), std::move(body), tok};
    try {
        co_return co_await perform(std::move(state), std::move(request_call));
    } catch (const halt::canceled_error&) {
        // Stopped by a source linked to the caller's token (the caller's slot is bridged to it):
        // reported below as the caller's token, or as the caller's Asio cancellation.
        if (tok == reported) throw;
    } catch (const boost::system::system_error& error) {
        // Asio's awaitable throws operation_aborted at a co_await once the coroutine itself was
        // cancelled; kept for a coroutine cancelled by anything other than the token.
        if (error.code() != asio::error::operation_aborted) throw;
    }
    throw_canceled(reported);
}

client::client(executor_type executor, client_options opts)
    : executor_(std::move(executor)), state_(std::make_shared<detail::client_state>(executor_, std::move(opts))) {}

client& client::operator=(client&& other) noexcept {
    if (this != &other) {
        if (state_ != nullptr) state_->pool.shut_down();
        executor_ = std::move(other.executor_);
        state_ = std::move(other.state_);
    }
    return *this;
}

client::~client() {
    if (state_ != nullptr) state_->pool.shut_down();
}

client::pool_counts client::pool_counts_for(std::string_view authority) const {
    const auto counts = state_->pool.counts(std::string(authority));
    return {counts.open, counts.idle, counts.waiting};
}

// --- blocking_client --------------------------------------------------------------------------------

struct blocking_client::runtime {
    explicit runtime(client_options opts)
        : http(std::in_place, context, std::move(opts)), thread([this] { context.run(); }) {}
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;
    ~runtime() {
        http.reset();  // closes the idle connections
        work.reset();  // run() returns once the last call's handlers are done
        thread.join();
    }

    asio::io_context context{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(context);
    std::optional<client> http;
    std::thread thread;
};

blocking_client::blocking_client(client_options opts) : runtime_(std::make_unique<runtime>(std::move(opts))) {}

blocking_client::~blocking_client() = default;

response blocking_client::get(std::string_view url, const halt::token& tok) {
    return request(bhttp::verb::get, url, {}, {}, tok);
}

response blocking_client::request(bhttp::verb method, std::string_view url, bhttp::fields headers,
                                          std::string body, const halt::token& tok) {
    // The call completes on the io thread whatever happens (the token ends every phase), so this
    // wait ends too.
    auto reply = runtime_->http->request(method, url, std::move(headers), std::move(body), tok, asio::use_future);
    try {
        return reply.get();
    } catch (...) {
        // Before the caller sees the exception, let the io thread finish the handler that completed
        // the call: it still holds references to the exception, dropped when the call's coroutine
        // frame goes. The io thread runs one handler at a time, so a no-op posted now runs after
        // that. Without this the exception may be freed on the io thread while the caller reads it,
        // through reference counts that libstdc++ keeps where ThreadSanitizer cannot see them.
        std::promise<void> drained;
        asio::post(runtime_->context, [&drained] { drained.set_value(); });
        drained.get_future().wait();
        throw;
    }
}

client& blocking_client::async_client() noexcept { return *runtime_->http; }

}  // namespace halt::http
