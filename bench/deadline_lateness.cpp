// A million pending deadlines: do they fit, do they all fire, in order, and how late?
//
//   halt_deadline_lateness [count=1000000] [spread_ms=1500] [lead_ms=auto]
//
// Builds `count` sources, each with one registration (a two-pointer callable, so no allocation) that stamps
// steady_clock::now() and its place in the firing sequence. Deadlines are evenly spaced over `spread_ms`,
// starting `lead_ms` after the arming phase begins (auto: twice the arming time estimated from arming the first
// 1% to a far deadline, at least 300 ms), and are armed with cancel_at in a shuffled order so the
// timer cannot rely on insertion order. Then it waits (bounded: the last deadline plus 10 s) for every
// callback, and reports:
//   - setup cost: time and heap bytes/allocations per source for create + register + arm, peak RSS;
//   - lateness = callback time - deadline: p50 / p90 / p99 / p99.9 / max, and the minimum (negative = early,
//     a bug);
//   - order: how many callbacks fired after one with a later deadline (0 expected; deadlines armed late are
//     left out), missing callbacks, and
//     callbacks whose reason was not errc::deadline_exceeded.
// Deadlines that were already past when armed (arming slower than lead_ms) are counted and excluded from the
// lateness figures; raise lead_ms if that count is not 0. Lateness includes the callback's own clock read.
// Exit status 0 only if every callback fired, in order, none early, none armed late.

#include "alloc_counter.hpp"

#include <halt/halt.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct firing_log {
    std::unique_ptr<std::int64_t[]> fired_at_ns;   // per source: steady_clock ticks (ns) when its callback ran
    std::unique_ptr<std::uint32_t[]> fire_order;   // k-th callback to run -> source index
    std::atomic<std::uint32_t> fired{0};
    std::atomic<std::uint32_t> wrong_reason{0};
};

/// Two pointers' worth: halt stores it inside the registration.
struct stamp_on_cancel {
    firing_log* log;
    std::uint64_t index;
    void operator()(std::error_code reason) const noexcept {
        const auto now = clock_type::now().time_since_epoch();
        log->fired_at_ns[index] = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
        log->fire_order[log->fired.fetch_add(1, std::memory_order_relaxed)] = static_cast<std::uint32_t>(index);
        if (reason != halt::errc::deadline_exceeded) log->wrong_reason.fetch_add(1, std::memory_order_relaxed);
    }
};

std::int64_t ns_since_epoch(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

double percentile_us(const std::vector<std::int64_t>& sorted_ns, double p) {
    if (sorted_ns.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted_ns.size() - 1) + 0.5);
    return static_cast<double>(sorted_ns[std::min(rank, sorted_ns.size() - 1)]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const std::int64_t spread_ms = argc > 2 ? std::strtoll(argv[2], nullptr, 10) : 1500;
    std::int64_t lead_ms = argc > 3 ? std::strtoll(argv[3], nullptr, 10) : -1;  // -1: auto
    if (count == 0 || count > 50'000'000 || spread_ms < 0 || lead_ms < -1) {
        std::fprintf(stderr, "usage: %s [count=1000000] [spread_ms=1500] [lead_ms=auto]\n", argv[0]);
        return 2;
    }

    // Warm the process-wide timer thread so its start-up is not billed to the first source.
    {
        halt::source warm;
        warm.cancel_after(std::chrono::hours(1));
    }

    firing_log log;
    log.fired_at_ns = std::make_unique<std::int64_t[]>(count);
    log.fire_order = std::make_unique<std::uint32_t[]>(count);
    // Deadline offsets from the base, evenly spaced; arming order shuffled (fixed seed: reproducible).
    std::vector<std::int64_t> offset_ns(count);
    for (std::size_t i = 0; i < count; ++i)
        offset_ns[i] = static_cast<std::int64_t>(static_cast<double>(i) * static_cast<double>(spread_ms) * 1e6 /
                                                 static_cast<double>(count));
    std::vector<std::uint32_t> arming_order(count);
    std::iota(arming_order.begin(), arming_order.end(), 0u);
    std::shuffle(arming_order.begin(), arming_order.end(), std::mt19937_64(42));

    // Phase 1: sources and registrations (no deadline yet).
    const auto heap_before = halt_bench::alloc::now();
    const auto create_start = clock_type::now();
    std::vector<halt::source> sources(count);
    std::vector<halt::registration> registrations(count);
    for (std::size_t i = 0; i < count; ++i) registrations[i] = sources[i].token().on_cancel(stamp_on_cancel{&log, i});
    const auto create_end = clock_type::now();

    // Calibration: arm the first 1% (in arming order) to a far deadline; phase 2 moves them to their real one.
    if (lead_ms < 0) {
        const std::size_t sample = std::max<std::size_t>(1, count / 100);
        const auto far = clock_type::now() + std::chrono::hours(1);
        const auto start = clock_type::now();
        for (std::size_t k = 0; k < sample; ++k) sources[arming_order[k]].cancel_at(far + std::chrono::nanoseconds(k));
        const double per_source_ms = ms_between(start, clock_type::now()) / double(sample);
        lead_ms = std::max<std::int64_t>(300, static_cast<std::int64_t>(2.0 * per_source_ms * double(count)));
    }

    // Phase 2: arm every deadline, shuffled.
    const auto base = clock_type::now() + std::chrono::milliseconds(lead_ms);
    std::vector<char> armed_late(count, 0);
    std::size_t armed_late_count = 0;
    const auto arm_start = clock_type::now();
    for (std::uint32_t i : arming_order) {
        const auto deadline = base + std::chrono::nanoseconds(offset_ns[i]);
        if (clock_type::now() >= deadline) {
            armed_late[i] = 1;
            ++armed_late_count;
        }
        sources[i].cancel_at(deadline);
    }
    const auto arm_end = clock_type::now();
    const auto heap_after = halt_bench::alloc::now();
    const long rss_armed_kib = peak_rss_kib();

    // Phase 3: wait, bounded.
    const auto give_up = base + std::chrono::milliseconds(spread_ms) + std::chrono::seconds(10);
    while (log.fired.load(std::memory_order_acquire) < count && clock_type::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto all_fired = clock_type::now();
    const std::size_t fired = log.fired.load(std::memory_order_acquire);

    // Lateness and order.
    const std::int64_t base_ns = ns_since_epoch(base);
    std::vector<std::int64_t> lateness_ns;
    lateness_ns.reserve(fired);
    std::size_t out_of_order = 0;
    std::int64_t previous_deadline = INT64_MIN;
    for (std::size_t k = 0; k < fired; ++k) {
        const std::uint32_t i = log.fire_order[k];
        if (armed_late[i]) continue;  // cancelled at once by cancel_at on this thread: neither timed nor ordered
        const std::int64_t deadline = base_ns + offset_ns[i];
        if (deadline < previous_deadline) ++out_of_order;
        previous_deadline = std::max(previous_deadline, deadline);
        lateness_ns.push_back(log.fired_at_ns[i] - deadline);
    }
    std::sort(lateness_ns.begin(), lateness_ns.end());

    const auto heap = heap_after - heap_before;
    std::printf("deadlines: %zu over %lld ms, first %lld ms after arming began\n", count,
                static_cast<long long>(spread_ms), static_cast<long long>(lead_ms));
    std::printf("create + register: %.1f ms (%.0f ns/source); arm (cancel_at, shuffled): %.1f ms (%.0f ns/source)\n",
                ms_between(create_start, create_end), ms_between(create_start, create_end) * 1e6 / double(count),
                ms_between(arm_start, arm_end), ms_between(arm_start, arm_end) * 1e6 / double(count));
    // The two vectors holding the sources and registrations (2 allocations) are this program's, not halt's.
    const double own_bytes = double(count) * double(sizeof(halt::source) + sizeof(halt::registration));
    std::printf("halt heap for create + register + arm: %.1f B and %.2f allocations per source\n",
                (double(heap.bytes) - own_bytes) / double(count), double(heap.calls - 2) / double(count));
    std::printf("peak RSS after arming: %.1f MiB\n", double(rss_armed_kib) / 1024.0);
    std::printf("fired: %zu of %zu; last callback seen %.1f ms after the last deadline\n", fired, count,
                ms_between(base + std::chrono::milliseconds(spread_ms), all_fired));
    std::printf("out of order: %zu; wrong reason: %u; armed after their deadline: %zu%s\n", out_of_order,
                log.wrong_reason.load(), armed_late_count, armed_late_count != 0 ? " (raise lead_ms)" : "");
    if (!lateness_ns.empty()) {
        std::printf("lateness (us): min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%zu samples)\n",
                    double(lateness_ns.front()) / 1000.0, percentile_us(lateness_ns, 50),
                    percentile_us(lateness_ns, 90), percentile_us(lateness_ns, 99), percentile_us(lateness_ns, 99.9),
                    double(lateness_ns.back()) / 1000.0, lateness_ns.size());
    }

    const auto teardown_start = clock_type::now();
    registrations.clear();
    sources.clear();
    std::printf("teardown: %.1f ms\n", ms_between(teardown_start, clock_type::now()));

    const bool ok = fired == count && out_of_order == 0 && log.wrong_reason.load() == 0 && armed_late_count == 0 && (lateness_ns.empty() || lateness_ns.front() >= 0);
    return ok ? 0 : 1;
}
