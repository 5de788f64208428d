#pragma once
// halt::http::router: method + path routes, with path parameters, to coroutine or blocking handlers.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <halt/http/message.hpp>
#include <halt/http/request_context.hpp>

namespace halt::http {

/// A handler that runs as an Asio coroutine on the connection's executor. It must not block: it
/// awaits. When its request's token is cancelled, halt cancels the coroutine too, so one that never
/// looks at the token still stops at its next co_await (with halt::canceled_error).
using handler = std::function<boost::asio::awaitable<response>(request_context&)>;

/// A handler that blocks (the `while (!token.is_cancellation_requested())` loop, a synchronous
/// library): it runs on the server's worker pool and polls ctx.request_aborted() itself. It is not
/// started if the token is cancelled before a worker picks it up.
using blocking_handler = std::function<response(request_context&)>;

/// How long a route's requests may run before their token is cancelled with deadline_exceeded,
/// counted from the arrival of the request's first byte.
class route_timeout {
public:
    /// The server's default, server_options::request_timeout.
    static constexpr route_timeout server_default() noexcept { return route_timeout(kind::server_default, {}); }

    /// `limit` (rounded up to whole milliseconds; zero or less: every request is answered with the
    /// timeout status without running the handler).
    template <class Rep, class Period>
    static constexpr route_timeout after(std::chrono::duration<Rep, Period> limit) noexcept {
        return route_timeout(kind::limit, std::chrono::ceil<std::chrono::milliseconds>(limit));
    }

    /// No deadline from the server. A caller's X-Request-Timeout-Ms or grpc-timeout still applies.
    static constexpr route_timeout disabled() noexcept { return route_timeout(kind::disabled, {}); }

    constexpr bool is_server_default() const noexcept { return kind_ == kind::server_default; }
    constexpr bool is_disabled() const noexcept { return kind_ == kind::disabled; }
    /// The limit; meaningful only when neither is_server_default() nor is_disabled().
    constexpr std::chrono::milliseconds limit() const noexcept { return limit_; }

    friend constexpr bool operator==(route_timeout, route_timeout) noexcept = default;

private:
    enum class kind : unsigned char { server_default, limit, disabled };
    constexpr route_timeout(kind k, std::chrono::milliseconds limit) noexcept : kind_(k), limit_(limit) {}
    kind kind_;
    std::chrono::milliseconds limit_;
};

/// Per-route settings.
struct route_options {
    /// The route's request timeout; by default the server's.
    route_timeout timeout = route_timeout::server_default();
    /// What a request of this route is answered when its deadline passed and its handler ended in
    /// halt::canceled_error; by default server_options::timeout_status (504).
    std::optional<status> timeout_status;
};

/// One registered route. Read-only once the server runs.
struct route {
    verb method;
    std::string pattern;
    /// Exactly one of the two is set.
    handler coroutine;
    blocking_handler blocking;
    route_options options;
    /// The route's position in the router, from 0; the server's metrics use it.
    std::size_t index = 0;
};

/// What router::match found.
struct route_match {
    /// The route, or null: no route has this path (404), or none of the path's routes has this method
    /// (405; allowed_methods then lists theirs).
    const http::route* route = nullptr;
    /// Percent-decoded values of the pattern's parameters, in pattern order; the names point into the
    /// router's patterns.
    std::vector<std::pair<std::string_view, std::string>> parameters;
    /// When no route has the method but some have the path: their methods, for a 405's Allow field.
    std::vector<verb> allowed_methods;
    /// True when a HEAD request matched a GET route (the server then writes no body).
    bool head_as_get = false;
};

/// Maps a method and a path to a handler. Filled before the server starts; the server takes it by
/// value and only reads it afterwards, from any thread.
///
/// Patterns are paths of '/'-separated segments. A segment is literal ("items"), a parameter that
/// matches any one non-empty segment ("{id}"), or, last only, a catch-all that matches the rest of
/// the path, possibly empty ("{*rest}"). Literal segments win over parameters, parameters over a
/// catch-all. Paths are matched segment by segment after percent-decoding; a trailing '/' is ignored.
/// A HEAD request falls back to the GET route of its path.
///
///     halt::http::router routes;
///     routes.map_get("/items/{id}", [](halt::http::request_context& ctx) -> asio::awaitable<halt::http::response> {
///         co_return halt::http::make_response(halt::http::status::ok, std::string(ctx.path_parameter("id")));
///     });
///     halt::http::route_options slow;
///     slow.timeout = halt::http::route_timeout::after(std::chrono::minutes(2));
///     routes.map_post("/reports", [](halt::http::request_context& ctx) { return build_report(ctx); }, slow);  // blocking
class router {
public:
    router();
    router(router&&) noexcept;
    router& operator=(router&&) noexcept;
    router(const router&);
    router& operator=(const router&);
    ~router();

    /// Adds a coroutine route. Throws std::invalid_argument for a malformed pattern (not starting with
    /// '/', an empty or unclosed '{}', a catch-all not last, two parameters of one name) or when
    /// `method` and `pattern` are already routed (two patterns that differ only in parameter names are
    /// the same pattern).
    router& map(verb method, std::string_view pattern, handler coroutine, route_options options = {});

    /// Adds a blocking route: `blocking` runs on the server's worker pool. Throws as above.
    router& map(verb method, std::string_view pattern, blocking_handler blocking, route_options options = {});

    /// map(verb::get, ...) and friends. `f` returning asio::awaitable<response> is a coroutine
    /// handler, `f` returning response a blocking one.
    template <class F>
    router& map_get(std::string_view pattern, F&& f, route_options options = {}) {
        return map(verb::get, pattern, wrap(std::forward<F>(f)), std::move(options));
    }
    template <class F>
    router& map_post(std::string_view pattern, F&& f, route_options options = {}) {
        return map(verb::post, pattern, wrap(std::forward<F>(f)), std::move(options));
    }
    template <class F>
    router& map_put(std::string_view pattern, F&& f, route_options options = {}) {
        return map(verb::put, pattern, wrap(std::forward<F>(f)), std::move(options));
    }
    template <class F>
    router& map_patch(std::string_view pattern, F&& f, route_options options = {}) {
        return map(verb::patch, pattern, wrap(std::forward<F>(f)), std::move(options));
    }
    template <class F>
    router& map_delete(std::string_view pattern, F&& f, route_options options = {}) {
        return map(verb::delete_, pattern, wrap(std::forward<F>(f)), std::move(options));
    }

    /// Finds the route for `method` and `path` (the target's path, without the query). Thread-safe
    /// against other const calls. Allocates only for parameter values that do not fit a small string.
    route_match match(verb method, std::string_view path) const;

    /// Every route, in the order they were added (route::index is the position).
    const std::vector<std::unique_ptr<http::route>>& routes() const noexcept { return routes_; }

private:
    template <class F>
    static auto wrap(F&& f) {
        if constexpr (std::is_invocable_r_v<boost::asio::awaitable<response>, F&, request_context&>) {
            return handler(std::forward<F>(f));
        } else {
            static_assert(std::is_invocable_r_v<response, F&, request_context&>,
                          "a handler takes request_context& and returns asio::awaitable<response> or response");
            return blocking_handler(std::forward<F>(f));
        }
    }

    router& add(std::unique_ptr<http::route> entry);

    struct node;
    std::vector<std::unique_ptr<http::route>> routes_;
    std::unique_ptr<node> root_;
};

}  // namespace halt::http
