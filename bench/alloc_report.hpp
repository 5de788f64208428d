#pragma once
// Reporting alloc_counter.hpp's counts as Google Benchmark counters: allocations and bytes per iteration.

#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"

namespace halt_bench {

/// Publishes a measured allocation delta as per-iteration counters "allocs/op" and "bytes/op".
inline void report_allocs(benchmark::State& state, const alloc::snapshot& delta) {
    state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(delta.calls), benchmark::Counter::kAvgIterations);
    state.counters["bytes/op"] = benchmark::Counter(static_cast<double>(delta.bytes), benchmark::Counter::kAvgIterations);
}

/// Counts the allocations of a benchmark's loop (construct before it, destroyed after it) and reports them.
class alloc_scope {
public:
    explicit alloc_scope(benchmark::State& state) : state_(state), start_(alloc::now()) {}
    alloc_scope(const alloc_scope&) = delete;
    alloc_scope& operator=(const alloc_scope&) = delete;
    ~alloc_scope() { report_allocs(state_, alloc::now() - start_); }

private:
    benchmark::State& state_;
    alloc::snapshot start_;
};

}  // namespace halt_bench
