#include <halt/http/metrics.hpp>

#include <algorithm>
#include <cstdio>
#include <iterator>

#include <halt/errc.hpp>

namespace halt::http {

/// Fixed buckets (upper bounds in nanoseconds), counted per bucket and cumulated when rendered.
struct metrics::histogram {
    explicit histogram(std::vector<std::int64_t> bounds)
        : upper_bounds(std::move(bounds)), counts(new std::atomic<std::uint64_t>[upper_bounds.size() + 1]) {
        for (std::size_t i = 0; i <= upper_bounds.size(); ++i) counts[i].store(0, std::memory_order_relaxed);
    }

    void observe(std::chrono::nanoseconds value) noexcept {
        const std::int64_t v = std::max<std::int64_t>(0, value.count());
        const auto bucket = static_cast<std::size_t>(
            std::lower_bound(upper_bounds.begin(), upper_bounds.end(), v) - upper_bounds.begin());
        counts[bucket].fetch_add(1, std::memory_order_relaxed);
        sum_nanoseconds.fetch_add(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
    }

    void render(std::string& out, std::string_view name, std::string_view help) const {
        out.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out.append("# TYPE ").append(name).append(" histogram\n");
        std::uint64_t cumulative = 0;
        char number[64];
        for (std::size_t i = 0; i <= upper_bounds.size(); ++i) {
            cumulative += counts[i].load(std::memory_order_relaxed);
            out.append(name).append("_bucket{le=\"");
            if (i == upper_bounds.size()) {
                out.append("+Inf");
            } else {
                std::snprintf(number, sizeof number, "%g", static_cast<double>(upper_bounds[i]) / 1e9);
                out.append(number);
            }
            out.append("\"} ").append(std::to_string(cumulative)).append("\n");
        }
        std::snprintf(number, sizeof number, "%.9g",
                      static_cast<double>(sum_nanoseconds.load(std::memory_order_relaxed)) / 1e9);
        out.append(name).append("_sum ").append(number).append("\n");
        // The count is the +Inf bucket, so that a scrape never shows them disagreeing.
        out.append(name).append("_count ").append(std::to_string(cumulative)).append("\n");
    }

    std::vector<std::int64_t> upper_bounds;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts;
    std::atomic<std::uint64_t> sum_nanoseconds{0};
    std::atomic<std::uint64_t> count{0};
};

namespace {

constexpr std::int64_t us = 1'000;
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000'000'000;

/// A Prometheus label value: backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
}

constexpr std::string_view reason_labels[] = {"client_disconnected", "deadline_exceeded", "shutting_down", "other"};

std::size_t reason_index(std::error_code reason) noexcept {
    if (reason.category() == halt::category()) {
        switch (static_cast<halt::errc>(reason.value())) {
            case halt::errc::client_disconnected: return 0;
            case halt::errc::deadline_exceeded: return 1;
            case halt::errc::shutting_down: return 2;
            default: break;
        }
    }
    return 3;
}

}  // namespace

metrics::metrics(std::vector<std::string> routes)
    : routes_(std::move(routes)),
      requests_(new std::atomic<std::uint64_t>[(routes_.size() + 1) * status_count]),
      cancel_to_exit_(std::make_unique<histogram>(std::vector<std::int64_t>{
          50 * us, 100 * us, 250 * us, 500 * us, 1 * ms, 2500 * us, 5 * ms, 10 * ms, 25 * ms, 50 * ms, 100 * ms,
          250 * ms, 500 * ms, 1 * s, 2500 * ms, 5 * s, 10 * s})),
      duration_(std::make_unique<histogram>(std::vector<std::int64_t>{
          500 * us, 1 * ms, 2500 * us, 5 * ms, 10 * ms, 25 * ms, 50 * ms, 100 * ms, 250 * ms, 500 * ms, 1 * s,
          2500 * ms, 5 * s, 10 * s, 30 * s})) {
    for (std::size_t i = 0; i < (routes_.size() + 1) * status_count; ++i) requests_[i].store(0, std::memory_order_relaxed);
}

metrics::~metrics() = default;

void metrics::record_request(std::size_t route, unsigned status, std::chrono::nanoseconds duration) noexcept {
    route = std::min(route, routes_.size());
    status = (status < first_status || status >= first_status + status_count) ? 599 : status;
    requests_[route * status_count + (status - first_status)].fetch_add(1, std::memory_order_relaxed);
    duration_->observe(duration);
}

void metrics::record_cancellation(std::error_code reason) noexcept {
    cancellations_[reason_index(reason)].fetch_add(1, std::memory_order_relaxed);
}

void metrics::record_cancel_to_exit(std::chrono::nanoseconds latency) noexcept { cancel_to_exit_->observe(latency); }

void metrics::connection_opened() noexcept {
    connections_open_.fetch_add(1, std::memory_order_relaxed);
    connections_accepted_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t metrics::requests(std::string_view route, unsigned status) const noexcept {
    if (status < first_status || status >= first_status + status_count) return 0;
    std::size_t index = routes_.size();
    if (route != unmatched_route) {
        const auto found = std::find(routes_.begin(), routes_.end(), route);
        if (found == routes_.end()) return 0;
        index = static_cast<std::size_t>(found - routes_.begin());
    }
    return requests_[index * status_count + (status - first_status)].load(std::memory_order_relaxed);
}

std::uint64_t metrics::cancellations(std::error_code reason) const noexcept {
    return cancellations_[reason_index(reason)].load(std::memory_order_relaxed);
}

std::uint64_t metrics::cancel_to_exit_count() const noexcept {
    return cancel_to_exit_->count.load(std::memory_order_relaxed);
}

std::string metrics::prometheus_text() const {
    std::string out;
    out.reserve(4096);
    out += "# HELP halt_http_requests_total Requests finished, by route pattern and status.\n";
    out += "# TYPE halt_http_requests_total counter\n";
    for (std::size_t route = 0; route <= routes_.size(); ++route) {
        const std::string_view label = route < routes_.size() ? std::string_view(routes_[route]) : unmatched_route;
        for (unsigned i = 0; i < status_count; ++i) {
            const std::uint64_t value = requests_[route * status_count + i].load(std::memory_order_relaxed);
            if (value == 0) continue;
            out += "halt_http_requests_total{route=\"";
            append_label_value(out, label);
            out += "\",status=\"";
            out += std::to_string(first_status + i);
            out += "\"} ";
            out += std::to_string(value);
            out += '\n';
        }
    }
    out += "# HELP halt_http_requests_in_flight Requests read and not yet finished.\n";
    out += "# TYPE halt_http_requests_in_flight gauge\n";
    out += "halt_http_requests_in_flight " + std::to_string(in_flight_.load(std::memory_order_relaxed)) + "\n";
    out += "# HELP halt_http_request_cancellations_total Request tokens cancelled, by reason.\n";
    out += "# TYPE halt_http_request_cancellations_total counter\n";
    for (std::size_t i = 0; i < reason_count; ++i) {
        out += "halt_http_request_cancellations_total{reason=\"";
        out += reason_labels[i];
        out += "\"} " + std::to_string(cancellations_[i].load(std::memory_order_relaxed)) + "\n";
    }
    cancel_to_exit_->render(out, "halt_http_cancel_to_exit_seconds",
                            "Time from a request token's cancellation to its handler's exit.");
    duration_->render(out, "halt_http_request_duration_seconds", "Time from a request's first byte to its end.");
    out += "# HELP halt_http_connections_open Connections open now.\n";
    out += "# TYPE halt_http_connections_open gauge\n";
    out += "halt_http_connections_open " + std::to_string(connections_open_.load(std::memory_order_relaxed)) + "\n";
    out += "# HELP halt_http_connections_accepted_total Connections accepted.\n";
    out += "# TYPE halt_http_connections_accepted_total counter\n";
    out += "halt_http_connections_accepted_total " +
           std::to_string(connections_accepted_.load(std::memory_order_relaxed)) + "\n";
    out += "# HELP halt_http_connections_rejected_total Connections closed at once for being over the cap.\n";
    out += "# TYPE halt_http_connections_rejected_total counter\n";
    out += "halt_http_connections_rejected_total " +
           std::to_string(connections_rejected_.load(std::memory_order_relaxed)) + "\n";
    return out;
}

}  // namespace halt::http
