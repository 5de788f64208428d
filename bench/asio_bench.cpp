// Google Benchmark suite for halt::asio, beside plain Asio in the same binary:
//
// 1. What halt::bind adds to one operation, on one thread (no thread hop, so the time is the operation's
//    own cost): an experimental::channel receive satisfied at once (no system call), and a steady_timer
//    wait that has already expired (dominated by the reactor's system calls). Each plain, with halt::bind
//    on a cancellable token that is never cancelled (the token copied in, as `halt::bind(tok, ...)`
//    does, and borrowed with std::cref), and with Asio's own bind_cancellation_slot on a long-lived
//    signal (the peer that also pays for a connected slot). The difference plain -> halt is
//    halt::bind's added cost per operation.
// 2. Latency from cancel() on one thread to the completion handler running on another: a 1 h timer wait
//    is armed on an io_context run by a second thread, then this thread cancels it and spins until the
//    handler has run. halt: source.cancel() on a halt::bind'ed wait. Peer: a raw
//    asio::cancellation_signal whose emit() is posted to the executor (the least any thread-safe
//    cancellation from a foreign thread must do). Reported as p50/p99 in microseconds.
//
// Every benchmark reports "allocs/op" and "bytes/op" (process-wide operator new, see alloc_counter.hpp;
// Asio's recycling allocator, when its per-thread cache misses, allocates with aligned_alloc, which this
// counter does not see). The latency benchmarks' 2 allocs/op are the fresh halt::source per iteration.
// Build Release (-O2 -DNDEBUG) and run, interleaved because the numbers are close:
//   halt_asio_bench --benchmark_repetitions=15 --benchmark_enable_random_interleaving=true

#include "alloc_report.hpp"

#include <halt/asio.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

using halt_bench::alloc_scope;
using halt_bench::report_allocs;

// ---- 1. added cost per operation -----------------------------------------------------------------------------
// Each completion handler starts the next operation, so every initiation runs inside io_context::run_one() on
// the benchmark thread, as a server's would: Asio's per-thread recycling caches are in play (an initiation
// made outside run() would always reach malloc). One iteration = one initiation + one completion.

using channel_type = asio::experimental::channel<void(boost::system::error_code, int)>;

/// Restarts `start` from each completion until told to stop.
template <class Start>
struct chain {
    Start* start;
    bool* stop;
    std::uint64_t* completed;
    template <class... Args>
    void operator()(const boost::system::error_code&, Args&&...) const {
        ++*completed;
        if (!*stop) (*start)(*this);
    }
};

/// Runs `start(handler)` chains on `io` on this thread, one completion per iteration.
template <class Start>
void run_chain(benchmark::State& state, asio::io_context& io, Start start) {
    bool stop = false;
    std::uint64_t completed = 0;
    const chain<Start> first{&start, &stop, &completed};
    start(first);
    for (int i = 0; i < 256; ++i) io.run_one();  // warm the recycling caches
    {
        alloc_scope allocs(state);
        for (auto _ : state) io.run_one();
    }
    stop = true;
    io.run();  // the last operation completes and starts nothing
    benchmark::DoNotOptimize(completed);
}

/// A channel receive that is satisfied at once: no system call, only Asio's own machinery.
template <class Wrap>
void channel_receives(benchmark::State& state, Wrap wrap) {
    asio::io_context io(1);
    channel_type channel(io, 1);
    run_chain(state, io, [&](auto handler) {
        channel.async_receive(wrap(handler));
        channel.try_send(boost::system::error_code(), 1);
    });
}

void channel_receive_plain(benchmark::State& state) {
    channel_receives(state, [](auto handler) { return handler; });
}
BENCHMARK(channel_receive_plain);

void channel_receive_halt_bind(benchmark::State& state) {
    halt::source source;  // cancellable, never cancelled: the full registration path every time
    const halt::token tok = source.token();
    channel_receives(state, [&](auto handler) { return halt::bind(tok, handler); });
}
BENCHMARK(channel_receive_halt_bind);

void channel_receive_halt_bind_borrowed_token(benchmark::State& state) {
    halt::source source;
    const halt::token tok = source.token();
    channel_receives(state, [&](auto handler) { return halt::bind(std::cref(tok), handler); });
}
BENCHMARK(channel_receive_halt_bind_borrowed_token);

void channel_receive_asio_bind_cancellation_slot(benchmark::State& state) {
    asio::cancellation_signal signal;
    channel_receives(state, [&](auto handler) { return asio::bind_cancellation_slot(signal.slot(), handler); });
}
BENCHMARK(channel_receive_asio_bind_cancellation_slot);

/// A steady_timer wait that has already expired (goes through the reactor's timer queue).
template <class Wrap>
void timer_waits(benchmark::State& state, Wrap wrap) {
    asio::io_context io(1);
    asio::steady_timer timer(io, asio::steady_timer::time_point::min());
    run_chain(state, io, [&](auto handler) { timer.async_wait(wrap(handler)); });
}

void timer_wait_plain(benchmark::State& state) {
    timer_waits(state, [](auto handler) { return handler; });
}
BENCHMARK(timer_wait_plain);

void timer_wait_halt_bind(benchmark::State& state) {
    halt::source source;
    const halt::token tok = source.token();
    timer_waits(state, [&](auto handler) { return halt::bind(tok, handler); });
}
BENCHMARK(timer_wait_halt_bind);

void timer_wait_asio_bind_cancellation_slot(benchmark::State& state) {
    asio::cancellation_signal signal;
    timer_waits(state, [&](auto handler) { return asio::bind_cancellation_slot(signal.slot(), handler); });
}
BENCHMARK(timer_wait_asio_bind_cancellation_slot);

// ---- 2. cancel() to handler latency ---------------------------------------------------------------------------

/// An io_context run by one background thread.
class io_thread {
public:
    io_thread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;
    ~io_thread() {
        work_.reset();
        thread_.join();
    }
    asio::io_context& context() noexcept { return io_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
};

using clock_type = std::chrono::steady_clock;

/// Arms a 1 h wait on the io thread with `arm`, cancels it from this thread with `cancel` (timed from
/// just before the call to the handler's first instruction), and reports the percentiles.
template <class Arm, class Cancel>
void cancel_latency(benchmark::State& state, Arm arm, Cancel cancel) {
    io_thread io;
    asio::steady_timer timer(io.context(), 1h);
    std::atomic<std::int64_t> handled_at{0};
    std::atomic<bool> armed{false};
    std::vector<double> samples;
    samples.reserve(1 << 16);
    alloc_scope allocs(state);
    for (auto _ : state) {
        state.PauseTiming();
        handled_at.store(0, std::memory_order_relaxed);
        armed.store(false, std::memory_order_relaxed);
        asio::post(io.context(), [&] {
            arm(timer, [&](const boost::system::error_code&) {
                handled_at.store(clock_type::now().time_since_epoch().count(), std::memory_order_release);
            });
            armed.store(true, std::memory_order_release);
        });
        while (!armed.load(std::memory_order_acquire)) {
        }
        state.ResumeTiming();
        const auto start = clock_type::now();
        cancel(io.context());
        std::int64_t end = 0;
        while ((end = handled_at.load(std::memory_order_acquire)) == 0) {
        }
        samples.push_back(std::chrono::duration<double, std::micro>(clock_type::duration(end) - start.time_since_epoch()).count());
    }
    std::sort(samples.begin(), samples.end());
    auto percentile = [&](double p) { return samples[static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1))]; };
    state.counters["p50_us"] = percentile(0.50);
    state.counters["p99_us"] = percentile(0.99);
}

void cancel_to_handler_halt(benchmark::State& state) {
    std::unique_ptr<halt::source> source;
    cancel_latency(
        state,
        [&](asio::steady_timer& timer, auto handler) {
            source = std::make_unique<halt::source>();
            timer.async_wait(halt::bind(source->token(), handler));
        },
        [&](asio::io_context&) { source->cancel(); });
}
BENCHMARK(cancel_to_handler_halt)->UseRealTime();

void cancel_to_handler_asio_signal_posted(benchmark::State& state) {
    asio::cancellation_signal signal;
    cancel_latency(
        state,
        [&](asio::steady_timer& timer, auto handler) {
            timer.async_wait(asio::bind_cancellation_slot(signal.slot(), handler));
        },
        [&](asio::io_context& io) { asio::post(io, [&] { signal.emit(asio::cancellation_type::all); }); });
}
BENCHMARK(cancel_to_handler_asio_signal_posted)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
