#pragma once
// halt::http::metrics: what a server counts, in Prometheus' text exposition format.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace halt::http {

/// The server's counters. Every recording member is lock-free (relaxed atomic increments: the
/// values are statistics, read without ordering against anything else) and may be called from any
/// thread; prometheus_text() and the readers may run concurrently with them and see each counter at
/// some recent value.
///
/// Series, all prefixed `halt_http_`:
/// - `requests_total{route,status}`: finished requests by route pattern and status (499: the client
///   went away; "(unmatched)" for requests no route took);
/// - `requests_in_flight`: requests read and not yet finished;
/// - `request_cancellations_total{reason}`: requests whose token was cancelled before their handler
///   ended (or could start), by reason (client_disconnected, deadline_exceeded, shutting_down, other);
/// - `cancel_to_exit_seconds`: histogram of the time from a request's cancellation (the FIN or RST
///   seen, the deadline, the end of the shutdown's grace period) to its handler's exit;
/// - `request_duration_seconds`: histogram of the time from a request's first byte to its end;
/// - `connections_open`, `connections_accepted_total`, `connections_rejected_total` (over the cap).
class metrics {
public:
    /// The label of requests that no route took (404, 405, 400, ...).
    static constexpr std::string_view unmatched_route = "(unmatched)";

    /// Counters for `routes` (labels, by route index); index routes.size() is unmatched_route.
    explicit metrics(std::vector<std::string> routes);
    metrics(const metrics&) = delete;
    metrics& operator=(const metrics&) = delete;
    ~metrics();

    // --- Recording (called by the server) --------------------------------------------------

    /// A request finished with `status` (100 to 599; others are counted as 599) after `duration`.
    /// `route` is a route index, or anything >= the number of routes for unmatched_route.
    void record_request(std::size_t route, unsigned status, std::chrono::nanoseconds duration) noexcept;
    /// A request's token was found cancelled with `reason` when its handler ended (or before it started).
    void record_cancellation(std::error_code reason) noexcept;
    /// A cancelled request's handler exited `latency` after the cancellation.
    void record_cancel_to_exit(std::chrono::nanoseconds latency) noexcept;
    void request_started() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    void request_finished() noexcept { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    void connection_opened() noexcept;
    void connection_closed() noexcept { connections_open_.fetch_sub(1, std::memory_order_relaxed); }
    void connection_rejected() noexcept { connections_rejected_.fetch_add(1, std::memory_order_relaxed); }

    // --- Reading ------------------------------------------------------------------------------

    /// Every series in Prometheus text format 0.0.4 (Content-Type
    /// `text/plain; version=0.0.4; charset=utf-8`). Allocates; throws std::bad_alloc.
    std::string prometheus_text() const;

    /// Requests of `route` (a pattern, or unmatched_route) finished with `status`; 0 for an unknown
    /// route.
    std::uint64_t requests(std::string_view route, unsigned status) const noexcept;
    /// Cancellations with `reason` (a halt::errc; anything else counts as "other").
    std::uint64_t cancellations(std::error_code reason) const noexcept;
    /// Samples in the cancel-to-exit histogram.
    std::uint64_t cancel_to_exit_count() const noexcept;
    std::int64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    std::int64_t connections_open() const noexcept { return connections_open_.load(std::memory_order_relaxed); }

private:
    struct histogram;
    static constexpr unsigned first_status = 100;
    static constexpr unsigned status_count = 500;  // 100..599
    static constexpr std::size_t reason_count = 4;

    std::vector<std::string> routes_;
    /// routes_.size() + 1 rows of status_count counters.
    std::unique_ptr<std::atomic<std::uint64_t>[]> requests_;
    std::array<std::atomic<std::uint64_t>, reason_count> cancellations_{};
    std::unique_ptr<histogram> cancel_to_exit_;
    std::unique_ptr<histogram> duration_;
    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<std::int64_t> connections_open_{0};
    std::atomic<std::uint64_t> connections_accepted_{0};
    std::atomic<std::uint64_t> connections_rejected_{0};
};

}  // namespace halt::http
