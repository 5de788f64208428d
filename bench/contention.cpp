// Many threads on ONE shared token: the server pattern, where every request
// registers on (or links to) the host's stopping token.
//
// Standalone on purpose (standard library + halt only) so that it can be built
// fully static and run on a bigger machine than the one it was built on:
//
//   halt_contention [max_threads=hardware] [rounds=5] [milliseconds=300]
//
// For each thread count (1, 2, 4, ... max) it runs `rounds` interleaved rounds
// of halt then std, each for `milliseconds`, and prints the median and range
// of total operations per second. Operations: register+unregister of a
// callback (halt::callback vs std::stop_callback), and create+destroy of a
// source linked to the shared token (halt::source::linked vs a std::stop_source
// plus a std::stop_callback that forwards to it).

#include <halt/halt.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct no_op {
    void operator()() const noexcept {}
};

struct forward_stop {
    std::stop_source* target;
    void operator()() const noexcept { target->request_stop(); }
};

/// Runs `body(stop_flag)` on `threads` threads for `duration`; returns total
/// operations per second. Each body returns how many operations it did.
double run_threads(unsigned threads, std::chrono::milliseconds duration,
                   const std::function<long(const std::atomic<bool>&)>& body) {
    std::atomic<bool> stop{false};
    std::atomic<long> total{0};
    std::barrier start(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
        workers.emplace_back([&] {
            start.arrive_and_wait();
            total.fetch_add(body(stop), std::memory_order_relaxed);
        });
    }
    start.arrive_and_wait();
    const auto begin = clock_type::now();
    std::this_thread::sleep_for(duration);  // the measured interval, not a synchronisation
    stop.store(true, std::memory_order_relaxed);
    for (auto& worker : workers) worker.join();
    const std::chrono::duration<double> elapsed = clock_type::now() - begin;
    return static_cast<double>(total.load()) / elapsed.count();
}

template <class Operation>
long repeat_until(const std::atomic<bool>& stop, Operation operation) {
    long done = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 64; ++i) operation();  // amortise the flag check
        done += 64;
    }
    return done;
}

struct summary {
    double median;
    double low;
    double high;
};

summary summarise(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values[values.size() / 2], values.front(), values.back()};
}

void print_row(const char* operation, unsigned threads, const summary& halt_result, const summary& std_result) {
    std::printf("%-26s %3u  %9.1f (%7.1f-%7.1f)  %9.1f (%7.1f-%7.1f)  %6.2fx\n", operation, threads,
                halt_result.median / 1e6, halt_result.low / 1e6, halt_result.high / 1e6, std_result.median / 1e6,
                std_result.low / 1e6, std_result.high / 1e6, halt_result.median / std_result.median);
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    const unsigned max_threads = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : hardware;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::chrono::milliseconds duration(argc > 3 ? std::atoi(argv[3]) : 300);

    std::printf("hardware threads: %u, rounds: %d, %lld ms each; M ops/s total, median (min-max)\n", hardware,
                rounds, static_cast<long long>(duration.count()));
    std::printf("%-26s %3s  %29s  %29s  %7s\n", "operation", "thr", "halt", "std", "ratio");

    for (unsigned threads = 1; threads <= max_threads; threads *= 2) {
        std::vector<double> halt_register, std_register, halt_linked, std_linked;
        for (int round = 0; round < rounds; ++round) {
            // Fresh shared sources per round, as a server would have one per host.
            halt::source halt_host;
            const halt::token halt_token = halt_host.token();
            std::stop_source std_host;
            const std::stop_token std_token = std_host.get_token();

            halt_register.push_back(run_threads(threads, duration, [&](const std::atomic<bool>& stop) {
                return repeat_until(stop, [&] { halt::callback<no_op> registration(halt_token, no_op{}); });
            }));
            std_register.push_back(run_threads(threads, duration, [&](const std::atomic<bool>& stop) {
                return repeat_until(stop, [&] { std::stop_callback<no_op> registration(std_token, no_op{}); });
            }));
            halt_linked.push_back(run_threads(threads, duration, [&](const std::atomic<bool>& stop) {
                return repeat_until(stop, [&] { halt::source request = halt::source::linked(halt_token); });
            }));
            std_linked.push_back(run_threads(threads, duration, [&](const std::atomic<bool>& stop) {
                return repeat_until(stop, [&] {
                    std::stop_source request;
                    std::stop_callback<forward_stop> link(std_token, forward_stop{&request});
                });
            }));
        }
        print_row("register+unregister", threads, summarise(halt_register), summarise(std_register));
        print_row("linked create+destroy", threads, summarise(halt_linked), summarise(std_linked));
        if (threads < max_threads && threads * 2 > max_threads) threads = max_threads / 2;  // end on max_threads
    }
    return 0;
}
