// The halt core at work, in one screen: a worker loop stopped by cancel(), a deadline,
// a request linked to the host's shutdown and to its own timeout, and the exception.
// Runs without arguments in well under two seconds.

#include <halt/halt.hpp>

#include <chrono>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <string_view>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;
using milliseconds = std::chrono::duration<double, std::milli>;

// (a) The loop from the .NET article: the worker polls, the owner of the source decides.
void worker_stopped_by_cancel() {
    halt::source source;
    std::uint64_t iterations = 0;

    // The worker gets only a token: it can observe cancellation but never request it.
    std::thread worker([token = source.token(), &iterations] {
        while (!token.is_cancellation_requested()) {
            ++iterations;
        }
    });

    std::this_thread::sleep_for(500ms);
    source.cancel();
    worker.join();  // join() makes the worker's count visible here

    std::cout << "[worker] stopped after " << iterations
              << " iterations: " << source.token().reason().message() << '\n';
}

// (b) A deadline fires from halt's timer thread; the caller just blocks on the token.
void deadline() {
    halt::source source;
    source.cancel_after(200ms);
    const halt::token token = source.token();
    const auto due = token.deadline().value();

    // The 2 s limit only guards the demo against a timer that never fires.
    const bool canceled = token.wait_for(2s);
    const auto woke_at = clock_type::now();

    if (!canceled) {
        std::cout << "[deadline] did not fire within 2 s\n";
        return;
    }
    // Lateness as the waiting thread sees it: timer delay plus the wake-up.
    const milliseconds late = woke_at - due;
    std::cout << "[deadline] fired " << std::fixed << std::setprecision(2) << late.count()
              << " ms after the 200 ms deadline: " << token.reason().message() << '\n';
}

// (c) A request-scoped source linked to the host's shutdown and to its own timeout.
// Whichever parent fires first cancels the request, and its reason travels along.
void serve_request(std::string_view name, const halt::token& app_stopping,
                   clock_type::duration timeout) {
    const auto start = clock_type::now();
    halt::source request_timeout;
    request_timeout.cancel_after(timeout);
    const halt::source request =
        halt::source::linked(app_stopping, request_timeout.token());

    request.token().wait();  // stands in for the handler's work

    const milliseconds elapsed = clock_type::now() - start;
    const std::string_view parent =
        app_stopping.is_cancellation_requested() ? "app shutdown" : "its timeout";
    std::cout << "[" << name << "] canceled after " << std::fixed << std::setprecision(0)
              << elapsed.count() << " ms by " << parent << ": "
              << request.token().reason().message() << '\n';
}  // no Dispose: the last copy of `request` going away unlinks it from app_stopping

void linked_sources() {
    // One host token shared by every request, as a server's stopping token is.
    halt::source app;

    serve_request("request 1", app.token(), 100ms);

    std::thread host([app]() mutable {
        std::this_thread::sleep_for(50ms);
        app.cancel(make_error_code(halt::errc::shutting_down));
    });
    serve_request("request 2", app.token(), 5s);
    host.join();
}

// (d) Code that cannot return early throws; one exception type covers every reason.
void cancellation_as_exception() {
    halt::source source;
    source.cancel(make_error_code(halt::errc::client_disconnected));

    try {
        source.token().throw_if_cancellation_requested();
    } catch (const halt::canceled_error& error) {
        // Every halt reason also matches the portable std::errc::operation_canceled.
        const bool portable = error.code() == std::errc::operation_canceled;
        std::cout << "[throw] caught halt::canceled_error: " << error.code().message() << " ("
                  << error.code().category().name() << ':' << error.code().value()
                  << (portable ? ", matches std::errc::operation_canceled" : "") << ")\n";
    }
}

}  // namespace

int main() {
    worker_stopped_by_cancel();
    deadline();
    linked_sources();
    cancellation_as_exception();
}
