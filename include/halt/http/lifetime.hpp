#pragma once
// halt::http::lifetime: the application's lifetime events as tokens (IHostApplicationLifetime).

#include <functional>

#include <halt/source.hpp>
#include <halt/token.hpp>

namespace halt::http {

namespace detail {
struct lifetime_access;
}

/// Three tokens that fire, once each and in this order, as the server goes through its life, and a
/// way to ask it to stop. Obtained from server::lifetime() or request_context::application_lifetime().
///
/// Every member is thread-safe. The tokens' callbacks run on the thread that fires them: a server io
/// thread, or the thread that calls server::start() for started().
class lifetime {
public:
    lifetime();
    lifetime(const lifetime&) = delete;
    lifetime& operator=(const lifetime&) = delete;
    ~lifetime();

    /// Fires (reason halt::errc::canceled) once the server listens and its background services were
    /// started (ApplicationStarted).
    halt::token started() const noexcept { return started_.token(); }

    /// Fires (reason halt::errc::shutting_down) when graceful shutdown begins: SIGINT, SIGTERM,
    /// stop_application() or server::stop() (ApplicationStopping). Background services get this token.
    halt::token stopping() const noexcept { return stopping_.token(); }

    /// Fires (reason halt::errc::shutting_down) when shutdown is complete: every connection is closed
    /// and every background service has ended (ApplicationStopped).
    halt::token stopped() const noexcept { return stopped_.token(); }

    /// Begins graceful shutdown, as SIGTERM does (StopApplication): the same as server::stop().
    /// Returns at once; idempotent.
    void stop_application();

private:
    friend struct detail::lifetime_access;

    halt::source started_;
    halt::source stopping_;
    halt::source stopped_;
    /// Set once by the server that owns this lifetime, before anyone can call stop_application().
    std::function<void()> stop_;
};

}  // namespace halt::http
