#!/usr/bin/env bash
# Builds the core benchmarks in a Release tree (-O2 -DNDEBUG, no sanitizers) and runs them.
#
#   bench/run_core.sh [extra Google Benchmark flags, e.g. --benchmark_filter=register]
#
# Environment:
#   HALT_BENCH_BUILD_DIR  build tree (default: build/bench under the repository root)
#   HALT_BENCH_OUT        JSON results (default: <build tree>/core_bench.json)
#   JOBS                  parallel build jobs (default: 2)
#   HALT_BENCH_SKIP_DEADLINES=1  skip the million-deadline lateness run
#
# Output: sizes (sizeof and heap bytes), then 5 repetitions of every benchmark, interleaved in random order
# across benchmarks (so halt and its peers share the machine's slow and fast moments), reported as
# mean/median/stddev/cv with the per-repetition values in the JSON; then the deadline lateness run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALT_BENCH_BUILD_DIR:-$root/build/bench}
out=${HALT_BENCH_OUT:-$build/core_bench.json}

# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
build_bench_targets "$build" "$root" halt_core_bench halt_deadline_lateness halt_contention

bench_bin=$build/bench/halt_core_bench
echo "== sizes"
"$bench_bin" --sizes
echo "== core benchmarks (JSON: $out)"
"$bench_bin" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out" --benchmark_out_format=json \
  "$@"

echo "== many threads on one token (halt_contention, up to $(nproc) threads)"
"$build/bench/halt_contention" "$(nproc)" 5 300

if [[ ${HALT_BENCH_SKIP_DEADLINES:-0} != 1 ]]; then
  echo "== a million deadlines"
  # Bounded: setup (a few s), an arming lead sized from a calibration, 1.5 s of spread, and the program gives
  # up 10 s after the last deadline; timeout is the backstop.
  timeout 120 "$build/bench/halt_deadline_lateness" 1000000 1500
fi
