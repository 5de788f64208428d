// Google Benchmark suite for halt's cancellation core, with its peers in the same binary:
//   - libstdc++'s std::stop_source / std::stop_token / std::stop_callback,
//   - Boost.Asio's cancellation_signal / cancellation_slot (single-threaded, one handler per slot) where the
//     operation exists there, and asio::steady_timer as the deadline peer.
//
// Every benchmark reports "allocs/op" and "bytes/op" (process-wide operator new calls and bytes per
// iteration, see alloc_counter.hpp). Benchmark names are <operation>_<who>[/<argument>], so halt and its
// peers sort next to each other.
//
// `halt_core_bench --sizes` prints sizeof and heap bytes of the core types and exits; the same figures are
// also written into the benchmark context (JSON "context" block) on every normal run.
//
// Run with bench/run_core.sh (Release, -O2 -DNDEBUG, 5 repetitions interleaved at random, JSON out).

// Asio allocates its handlers with std::aligned_alloc, which a replaced operator new never sees. Without these
// two switches Asio falls back to ::operator new, so its allocations are counted like everyone else's.
#define BOOST_ASIO_DISABLE_STD_ALIGNED_ALLOC 1
#define BOOST_ASIO_DISABLE_BOOST_ALIGN 1

#include "alloc_report.hpp"

#include <halt/halt.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// ---- callables -----------------------------------------------------------------------------------------------
// Named types (not lambdas) so that halt, std and Asio store exactly the same bytes.

/// The callable of a registration that is never expected to run: one pointer.
struct one_pointer_callable {
    int* counter;
    void operator()() const noexcept { ++*counter; }
};

/// A callable of two pointers: the largest that halt promises to store without allocating.
struct two_pointer_callable {
    int* counter;
    const int* increment;
    void operator()() const noexcept { *counter += *increment; }
};

/// Asio's slot handlers take the cancellation type.
struct asio_one_pointer_callable {
    int* counter;
    void operator()(asio::cancellation_type_t) const noexcept { ++*counter; }
};

/// The std peer of a linked source: a parent's stop_callback forwarding to the child's stop_source.
struct forward_stop {
    std::stop_source* child;
    void operator()() const noexcept { child->request_stop(); }
};

/// Completion handler of the Asio timer peer of cancel_after: a deadline requests stop.
struct timer_requests_stop {
    std::stop_source* source;
    void operator()(const boost::system::error_code& error) const noexcept {
        if (!error) source->request_stop();
    }
};

/// Storage for many non-movable objects (halt::callback, std::stop_callback) built in place, outside timing.
template <class T>
class slab {
public:
    explicit slab(std::size_t count) : items_(std::make_unique<std::optional<T>[]>(count)), count_(count) {}
    template <class... Args>
    void emplace(std::size_t index, Args&&... args) {
        items_[index].emplace(std::forward<Args>(args)...);
    }
    void clear() noexcept {
        for (std::size_t i = 0; i < count_; ++i) items_[i].reset();
    }

private:
    std::unique_ptr<std::optional<T>[]> items_;
    std::size_t count_;
};

using halt_bench::alloc_scope;
using halt_bench::report_allocs;

// ---- token check ---------------------------------------------------------------------------------------------
// The token is reached through a pointer that DoNotOptimize makes opaque every iteration (with a memory
// clobber), so the compiler must re-read the token's state pointer and do the atomic load each time. Both
// sides get exactly the same treatment.

void token_check_halt(benchmark::State& state) {
    halt::source source;
    const halt::token token = source.token();
    const halt::token* opaque = &token;
    alloc_scope allocs(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(opaque);
        bool requested = opaque->is_cancellation_requested();
        benchmark::DoNotOptimize(requested);
    }
}
BENCHMARK(token_check_halt);

void token_check_std(benchmark::State& state) {
    std::stop_source source;
    const std::stop_token token = source.get_token();
    const std::stop_token* opaque = &token;
    alloc_scope allocs(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(opaque);
        bool requested = opaque->stop_requested();
        benchmark::DoNotOptimize(requested);
    }
}
BENCHMARK(token_check_std);

// ---- register + unregister on an uncancelled token, with 0 or 1,000 others registered ----------------------

void register_unregister_halt(benchmark::State& state) {
    const auto others = static_cast<std::size_t>(state.range(0));
    halt::source source;
    const halt::token token = source.token();
    int counter = 0;
    slab<halt::callback<one_pointer_callable>> background(others);
    for (std::size_t i = 0; i < others; ++i) background.emplace(i, token, one_pointer_callable{&counter});
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            halt::callback<one_pointer_callable> callback(token, one_pointer_callable{&counter});
            benchmark::DoNotOptimize(&callback);
        }
    }
    benchmark::DoNotOptimize(counter);
}
BENCHMARK(register_unregister_halt)->Arg(0)->Arg(1000);

void register_unregister_std(benchmark::State& state) {
    const auto others = static_cast<std::size_t>(state.range(0));
    std::stop_source source;
    const std::stop_token token = source.get_token();
    int counter = 0;
    slab<std::stop_callback<one_pointer_callable>> background(others);
    for (std::size_t i = 0; i < others; ++i) background.emplace(i, token, one_pointer_callable{&counter});
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            std::stop_callback<one_pointer_callable> callback(token, one_pointer_callable{&counter});
            benchmark::DoNotOptimize(&callback);
        }
    }
    benchmark::DoNotOptimize(counter);
}
BENCHMARK(register_unregister_std)->Arg(0)->Arg(1000);

// Asio: a slot holds one handler, so there is no "with 1,000 others" variant. Outside an io_context thread
// every assign allocates the handler (clear frees it); inside one, Asio's per-thread recycling cache reuses
// the memory, which is how Asio operations normally run. Both are shown.
void asio_slot_loop(benchmark::State& state) {
    asio::cancellation_signal signal;
    asio::cancellation_slot slot = signal.slot();
    int counter = 0;
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            slot.assign(asio_one_pointer_callable{&counter});
            benchmark::DoNotOptimize(slot);
            slot.clear();
        }
    }
    benchmark::DoNotOptimize(counter);
}

void register_unregister_asio_outside_io_thread(benchmark::State& state) { asio_slot_loop(state); }
BENCHMARK(register_unregister_asio_outside_io_thread)->Arg(0);

void register_unregister_asio_in_io_thread(benchmark::State& state) {
    asio::io_context io;
    asio::post(io, [&state] { asio_slot_loop(state); });
    io.run();
}
BENCHMARK(register_unregister_asio_in_io_thread)->Arg(0);

// ---- on_cancel + destroy (type-erased, movable registration) with a callable of two pointers ---------------
// std has no type-erased movable registration; its closest peers are std::stop_callback of the same callable
// (not type-erased, not movable) and std::stop_callback<std::function<void()>> (type-erased; libstdc++ keeps
// a two-pointer trivially-copyable callable in std::function's local buffer, so it does not allocate either).

void on_cancel_destroy_halt(benchmark::State& state) {
    halt::source source;
    const halt::token token = source.token();
    int counter = 0;
    const int increment = 1;
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            halt::registration registration = token.on_cancel(two_pointer_callable{&counter, &increment});
            benchmark::DoNotOptimize(&registration);
        }
    }
    benchmark::DoNotOptimize(counter);
}
BENCHMARK(on_cancel_destroy_halt);

void on_cancel_destroy_std_stop_callback(benchmark::State& state) {
    std::stop_source source;
    const std::stop_token token = source.get_token();
    int counter = 0;
    const int increment = 1;
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            std::stop_callback<two_pointer_callable> callback(token, two_pointer_callable{&counter, &increment});
            benchmark::DoNotOptimize(&callback);
        }
    }
    benchmark::DoNotOptimize(counter);
}
BENCHMARK(on_cancel_destroy_std_stop_callback);

void on_cancel_destroy_std_function(benchmark::State& state) {
    std::stop_source source;
    const std::stop_token token = source.get_token();
    int counter = 0;
    const int increment = 1;
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            std::stop_callback<std::function<void()>> callback(
                token, std::function<void()>(two_pointer_callable{&counter, &increment}));
            benchmark::DoNotOptimize(&callback);
        }
    }
    benchmark::DoNotOptimize(counter);
}
BENCHMARK(on_cancel_destroy_std_function);

// ---- create + cancel ------------------------------------------------------------------------------------------

void create_cancel_halt(benchmark::State& state) {
    alloc_scope allocs(state);
    for (auto _ : state) {
        halt::source source;
        bool canceled = source.cancel();
        benchmark::DoNotOptimize(canceled);
    }
}
BENCHMARK(create_cancel_halt);

void create_cancel_std(benchmark::State& state) {
    alloc_scope allocs(state);
    for (auto _ : state) {
        std::stop_source source;
        bool stopped = source.request_stop();
        benchmark::DoNotOptimize(stopped);
    }
}
BENCHMARK(create_cancel_std);

// Asio's signal owns no shared state and no atomics: construct + emit with no handler is nearly free. It is
// the floor, not a like-for-like peer.
void create_cancel_asio_signal(benchmark::State& state) {
    alloc_scope allocs(state);
    for (auto _ : state) {
        asio::cancellation_signal signal;
        benchmark::DoNotOptimize(signal);
        signal.emit(asio::cancellation_type::all);
        benchmark::DoNotOptimize(signal);
    }
}
BENCHMARK(create_cancel_asio_signal);

// ---- cancel with N callbacks ----------------------------------------------------------------------------------
// Only cancel() is timed. Each batch builds `batch` sources with N callbacks each while the timer is paused,
// then cancels them all; the pause/resume cost is amortized over at least ~4,096 callbacks per batch. One
// iteration is one cancel of a source with N callbacks; items are callbacks, so "time/callback" (and
// items_per_second) shows the per-callback cost. Allocations are counted over the timed cancels only.
//
// Note on the std peer: after each callback libstdc++ 12's request_stop() releases a std::binary_semaphore,
// whose notify is a FUTEX_WAKE system call whenever the process has ever started a second thread (glibc's
// __libc_single_threaded is then false for good). This binary always has threads (halt's timer thread, the
// contended benchmarks), as any program that cancels across threads does, so std pays that system call per
// callback here; in a process that never started a thread the same loop costs ~10-15 ns per callback.

constexpr std::size_t callbacks_per_batch = 4096;

template <class Source, class Callback, class Build, class Cancel>
void cancel_with_n(benchmark::State& state, Build build, Cancel cancel) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::size_t batch = n >= callbacks_per_batch ? 1 : callbacks_per_batch / n;
    int counter = 0;
    halt_bench::alloc::snapshot cancel_allocs;
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(batch))) {
        state.PauseTiming();
        std::vector<Source> sources(batch);
        slab<Callback> callbacks(batch * n);
        for (std::size_t b = 0; b < batch; ++b) build(sources[b], callbacks, b * n, n, &counter);
        const auto before = halt_bench::alloc::now();
        state.ResumeTiming();
        for (std::size_t b = 0; b < batch; ++b) cancel(sources[b]);
        state.PauseTiming();
        cancel_allocs += halt_bench::alloc::now() - before;
        callbacks.clear();
        sources.clear();
        state.ResumeTiming();
    }
    if (counter != static_cast<int>(state.iterations() * n)) state.SkipWithError("not every callback ran");
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
    state.counters["time/callback"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(n),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    report_allocs(state, cancel_allocs);
}

void cancel_with_n_callbacks_halt(benchmark::State& state) {
    using callback_type = halt::callback<one_pointer_callable>;
    cancel_with_n<halt::source, callback_type>(
        state,
        [](halt::source& source, slab<callback_type>& callbacks, std::size_t first, std::size_t n, int* counter) {
            const halt::token token = source.token();
            for (std::size_t i = 0; i < n; ++i) callbacks.emplace(first + i, token, one_pointer_callable{counter});
        },
        [](halt::source& source) { benchmark::DoNotOptimize(source.cancel()); });
}
BENCHMARK(cancel_with_n_callbacks_halt)->Arg(1)->Arg(10)->Arg(1000);
BENCHMARK(cancel_with_n_callbacks_halt)->Arg(1'000'000)->Iterations(10);

void cancel_with_n_callbacks_std(benchmark::State& state) {
    using callback_type = std::stop_callback<one_pointer_callable>;
    cancel_with_n<std::stop_source, callback_type>(
        state,
        [](std::stop_source& source, slab<callback_type>& callbacks, std::size_t first, std::size_t n,
           int* counter) {
            const std::stop_token token = source.get_token();
            for (std::size_t i = 0; i < n; ++i) callbacks.emplace(first + i, token, one_pointer_callable{counter});
        },
        [](std::stop_source& source) { benchmark::DoNotOptimize(source.request_stop()); });
}
BENCHMARK(cancel_with_n_callbacks_std)->Arg(1)->Arg(10)->Arg(1000);
// libstdc++ spends ~1-2 us per callback here (see the note above), so fewer rounds of a million.
BENCHMARK(cancel_with_n_callbacks_std)->Arg(1'000'000)->Iterations(3);

// ---- contended: T threads register + unregister on ONE shared token -----------------------------------------
// items_per_second is the total over all threads (wall time). The shared source is leaked on purpose so no
// thread can outlive it. Allocations: each thread counts its own (so the harness starting and stopping the
// other threads is not billed to the loop); benchmark sums the threads and divides by all iterations.
// On a machine with fewer cores than threads, rows above the core count measure time slicing, not
// contention (and benchmark's per-thread wall-time average flatters them): read the rows up to the core count.

const halt::token& shared_halt_token() {
    static const halt::token token = (new halt::source)->token();
    return token;
}

const std::stop_token& shared_std_token() {
    static const std::stop_token token = (new std::stop_source)->get_token();
    return token;
}

template <class Body>
void contended(benchmark::State& state, Body body) {
    // Create the counter entries before measuring: inserting them into the map allocates.
    state.counters["items_per_second"];
    state.counters["allocs/op"];
    state.counters["bytes/op"];
    const auto start = halt_bench::alloc::this_thread();
    for (auto _ : state) body();
    report_allocs(state, halt_bench::alloc::this_thread() - start);
    state.SetItemsProcessed(state.iterations());
}

void contended_register_unregister_halt(benchmark::State& state) {
    const halt::token token = shared_halt_token();
    int counter = 0;
    contended(state, [&] {
        halt::callback<one_pointer_callable> callback(token, one_pointer_callable{&counter});
        benchmark::DoNotOptimize(&callback);
    });
}
BENCHMARK(contended_register_unregister_halt)->ThreadRange(1, 16)->UseRealTime();

void contended_register_unregister_std(benchmark::State& state) {
    const std::stop_token token = shared_std_token();
    int counter = 0;
    contended(state, [&] {
        std::stop_callback<one_pointer_callable> callback(token, one_pointer_callable{&counter});
        benchmark::DoNotOptimize(&callback);
    });
}
BENCHMARK(contended_register_unregister_std)->ThreadRange(1, 16)->UseRealTime();

// The server shape the issue names: every request links a source to the host's stopping token and drops it.
void contended_linked_create_destroy_halt(benchmark::State& state) {
    const halt::token token = shared_halt_token();
    contended(state, [&] {
        halt::source linked = halt::source::linked(token);
        benchmark::DoNotOptimize(&linked);
    });
}
BENCHMARK(contended_linked_create_destroy_halt)->ThreadRange(1, 16)->UseRealTime();

void contended_linked_create_destroy_std(benchmark::State& state) {
    const std::stop_token token = shared_std_token();
    contended(state, [&] {
        std::stop_source linked;
        std::stop_callback<forward_stop> forward(token, forward_stop{&linked});
        benchmark::DoNotOptimize(&linked);
    });
}
BENCHMARK(contended_linked_create_destroy_std)->ThreadRange(1, 16)->UseRealTime();

// ---- create + destroy a linked source of two parents ----------------------------------------------------------
// std peer: a new std::stop_source plus one std::stop_callback per parent forwarding to it. (The callbacks
// hold a plain pointer to the child, which is cheaper than halt's shared ownership; it favours the peer.)

void linked_two_parents_halt(benchmark::State& state) {
    halt::source parent_a;
    halt::source parent_b;
    const halt::token token_a = parent_a.token();
    const halt::token token_b = parent_b.token();
    alloc_scope allocs(state);
    for (auto _ : state) {
        halt::source linked = halt::source::linked(token_a, token_b);
        benchmark::DoNotOptimize(&linked);
    }
}
BENCHMARK(linked_two_parents_halt);

void linked_two_parents_std(benchmark::State& state) {
    std::stop_source parent_a;
    std::stop_source parent_b;
    const std::stop_token token_a = parent_a.get_token();
    const std::stop_token token_b = parent_b.get_token();
    alloc_scope allocs(state);
    for (auto _ : state) {
        std::stop_source linked;
        std::stop_callback<forward_stop> from_a(token_a, forward_stop{&linked});
        std::stop_callback<forward_stop> from_b(token_b, forward_stop{&linked});
        benchmark::DoNotOptimize(&linked);
    }
}
BENCHMARK(linked_two_parents_std);

// ---- cancel_after(1h) + destroy --------------------------------------------------------------------------------
// Closest peer: std has no deadlines, so the peer is what an Asio program writes — a std::stop_source plus an
// asio::steady_timer(1h) whose async_wait requests stop; destroying the timer cancels the wait and the aborted
// handler runs in io_context::poll(), which is timed too (that is when the timer's memory comes back). The
// io_context is not running on another thread (Asio timers are not thread-safe per object anyway).
// Argument: how many other deadlines are already pending (0 or 100,000), to show the timer structure's cost
// at depth. create_destroy_* give the cost of the bare source for reference.

void create_destroy_halt(benchmark::State& state) {
    alloc_scope allocs(state);
    for (auto _ : state) {
        halt::source source;
        benchmark::DoNotOptimize(&source);
    }
}
BENCHMARK(create_destroy_halt);

void create_destroy_std(benchmark::State& state) {
    alloc_scope allocs(state);
    for (auto _ : state) {
        std::stop_source source;
        benchmark::DoNotOptimize(&source);
    }
}
BENCHMARK(create_destroy_std);

void cancel_after_destroy_halt(benchmark::State& state) {
    const auto pending_count = static_cast<std::size_t>(state.range(0));
    std::vector<halt::source> pending(pending_count);
    for (std::size_t i = 0; i < pending_count; ++i)
        pending[i].cancel_after(1h + std::chrono::microseconds(static_cast<std::int64_t>(i)));
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            halt::source source;
            source.cancel_after(1h);
            benchmark::DoNotOptimize(&source);
        }
    }
}
BENCHMARK(cancel_after_destroy_halt)->Arg(0)->Arg(100'000);

void cancel_after_destroy_std_asio_timer(benchmark::State& state) {
    const auto pending_count = static_cast<std::size_t>(state.range(0));
    asio::io_context io;
    std::vector<std::stop_source> pending_sources(pending_count);
    std::vector<std::unique_ptr<asio::steady_timer>> pending_timers;
    pending_timers.reserve(pending_count);
    for (std::size_t i = 0; i < pending_count; ++i) {
        pending_timers.push_back(std::make_unique<asio::steady_timer>(
            io, 1h + std::chrono::microseconds(static_cast<std::int64_t>(i))));
        pending_timers.back()->async_wait(timer_requests_stop{&pending_sources[i]});
    }
    {
        alloc_scope allocs(state);
        for (auto _ : state) {
            {
                std::stop_source source;
                asio::steady_timer timer(io, 1h);
                timer.async_wait(timer_requests_stop{&source});
                benchmark::DoNotOptimize(&source);
            }
            io.poll();
            io.restart();
        }
    }
    pending_timers.clear();
    io.poll();
}
BENCHMARK(cancel_after_destroy_std_asio_timer)->Arg(0)->Arg(100'000);

// ---- sizes ------------------------------------------------------------------------------------------------------

/// Heap bytes and calls made while `make` runs and the object it returns lives (measured on a warm process).
template <class Make>
halt_bench::alloc::snapshot heap_of(Make make) {
    const auto before = halt_bench::alloc::now();
    auto object = make();
    const auto after = halt_bench::alloc::now();
    benchmark::DoNotOptimize(&object);
    return after - before;
}

std::vector<std::pair<std::string, std::string>> size_report() {
    std::vector<std::pair<std::string, std::string>> rows;
    auto add = [&rows](const std::string& name, std::size_t value) { rows.emplace_back(name, std::to_string(value)); };
    auto add_heap = [&rows](const std::string& name, const halt_bench::alloc::snapshot& heap) {
        rows.emplace_back(name, std::to_string(heap.bytes) + " B in " + std::to_string(heap.calls) + " allocations");
    };

    add("sizeof(halt::token)", sizeof(halt::token));
    add("sizeof(halt::source)", sizeof(halt::source));
    add("sizeof(halt::callback<one-pointer lambda>)", sizeof(halt::callback<one_pointer_callable>));
    add("sizeof(halt::registration)", sizeof(halt::registration));
    add("sizeof(std::stop_token)", sizeof(std::stop_token));
    add("sizeof(std::stop_source)", sizeof(std::stop_source));
    add("sizeof(std::stop_callback<one-pointer lambda>)", sizeof(std::stop_callback<one_pointer_callable>));
    add("sizeof(asio::cancellation_signal)", sizeof(asio::cancellation_signal));
    add("sizeof(asio::cancellation_slot)", sizeof(asio::cancellation_slot));

    // Warm up lazily created process-wide things (the timer thread) so they are not billed to one source.
    {
        halt::source warm;
        warm.cancel_after(1h);
    }
    halt::source parent_a;
    halt::source parent_b;
    const halt::token token_a = parent_a.token();
    const halt::token token_b = parent_b.token();
    int counter = 0;
    const int increment = 1;

    add_heap("heap per halt::source", heap_of([] { return halt::source{}; }));
    add_heap("heap per std::stop_source", heap_of([] { return std::stop_source{}; }));
    add_heap("heap per halt::source::linked(a, b)",
             heap_of([&] { return halt::source::linked(token_a, token_b); }));
    add_heap("heap per halt::source + cancel_after(1h)", heap_of([] {
                 halt::source source;
                 source.cancel_after(1h);
                 return source;
             }));
    add_heap("heap per on_cancel(two-pointer callable)",
             heap_of([&] { return token_a.on_cancel(two_pointer_callable{&counter, &increment}); }));
    struct three_pointers {
        int* a;
        int* b;
        int* c;
        void operator()() const noexcept { *a += *b + *c; }
    };
    add_heap("heap per on_cancel(three-pointer callable)",
             heap_of([&] { return token_a.on_cancel(three_pointers{&counter, &counter, &counter}); }));
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--sizes") == 0) {
            for (const auto& [name, value] : size_report()) std::printf("%-50s %s\n", name.c_str(), value.c_str());
            return 0;
        }
    }
    for (const auto& [name, value] : size_report()) benchmark::AddCustomContext(name, value);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
