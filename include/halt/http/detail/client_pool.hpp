#pragma once
// The keep-alive connection pool behind halt::http::client: per host ("host:port"), idle connections
// ready for reuse, a cap on open connections, and the queue of calls waiting for one.
//
// ## What the pool counts
// `open` is every connection of a host that exists or is being made: idle ones, ones lent to a call,
// and slots granted to a call that is still connecting. A call gets one of: an idle connection, a
// slot (open < cap: it connects itself), or a place in the host's queue. Whatever a call got goes
// back through release(), exactly once: as a connection fit for reuse, or as nothing (the connection
// failed, was cancelled, or the reply said "close"; the socket is closed and never pooled again).
//
// ## Race: a grant against the waiter's cancellation
// release() hands what comes back to the oldest waiter under the lock and then wakes it on its own
// executor. The waiter may be cancelled at the same moment; it wakes, and under the lock either finds
// the grant (takes it, and gives it back with release() if it no longer wants it) or removes itself
// from the queue, after which nothing can be granted to it. Either way the grant is never lost and the
// count stays exact.

#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace halt::http::detail {

namespace asio = boost::asio;

/// One connection to a host, owned by the pool while idle and by one call while lent.
/// The TLS layer of an https connection, over its socket (src/http/client_tls.hpp).
struct tls_session;

struct client_connection {
    explicit client_connection(asio::any_io_executor executor);
    client_connection(const client_connection&) = delete;
    client_connection& operator=(const client_connection&) = delete;
    ~client_connection();

    /// Closing it stops whatever runs on the connection, TLS included.
    asio::ip::tcp::socket socket;
    /// Set once the TLS handshake of an https connection has begun; null for http.
    std::unique_ptr<tls_session> tls;
    std::chrono::steady_clock::time_point idle_since{};
};

/// What a call holds from the pool: an idle connection to reuse, or (null) a slot to connect one.
struct client_grant {
    std::unique_ptr<client_connection> connection;
};

/// A call waiting for a connection of a full host. Its timer never expires: release() wakes it by
/// cancelling the timer from the waiter's executor, and the waiter's token cancels the wait.
struct client_waiter {
    explicit client_waiter(asio::any_io_executor executor) : wake(executor, asio::steady_timer::time_point::max()) {}

    asio::steady_timer wake;                  // touched only on the waiter's executor
    std::optional<client_grant> grant;        // guarded by the pool's mutex
    bool queued = false;                      // guarded by the pool's mutex
};

/// Thread-safe; every member takes one mutex for a few list operations. Sockets are closed outside it.
class connection_pool {
public:
    connection_pool(std::size_t max_connections_per_host, std::chrono::steady_clock::duration idle_timeout);
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;
    ~connection_pool();

    /// An idle connection of `host` (the most recently used one) or a new slot; otherwise queues
    /// `waiter` and returns nothing. Idle connections past the idle timeout are closed on the way.
    std::optional<client_grant> acquire(const std::string& host, const std::shared_ptr<client_waiter>& waiter);

    /// What was granted to `waiter` (after its wake), or nothing if it is still queued.
    std::optional<client_grant> take_grant(const std::shared_ptr<client_waiter>& waiter);

    /// The waiter gives up: leaves the queue, or gives back what was granted to it meanwhile.
    void abandon(const std::string& host, const std::shared_ptr<client_waiter>& waiter);

    /// Gives back what a call held. `connection` non-null and `reusable`: kept for reuse (or handed to
    /// a waiter); otherwise the connection, if any, is closed and its slot freed (or handed to a waiter).
    void release(const std::string& host, std::unique_ptr<client_connection> connection, bool reusable);

    /// Closes every idle connection and keeps none from now on (the client is going away).
    void shut_down();

    /// Counts for one host, for tests and metrics.
    struct host_counts {
        std::size_t open = 0;
        std::size_t idle = 0;
        std::size_t waiting = 0;
    };
    host_counts counts(const std::string& host) const;

private:
    struct host_state {
        std::deque<std::unique_ptr<client_connection>> idle;  // oldest first
        std::list<std::shared_ptr<client_waiter>> waiters;    // oldest first
        std::size_t open = 0;
    };

    /// Hands `grant` to the oldest waiter of `state`; false if there is none. Caller holds the lock.
    bool hand_to_waiter(host_state& state, client_grant& grant);

    /// Drops the entry of a host with nothing open and nobody waiting, so that a client that has
    /// called many hosts does not keep one entry for each. Caller holds the lock.
    void forget_if_unused(std::unordered_map<std::string, host_state>::iterator found);

    const std::size_t max_connections_per_host_;
    const std::chrono::steady_clock::duration idle_timeout_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, host_state> hosts_;
    bool shut_down_ = false;
};

}  // namespace halt::http::detail
