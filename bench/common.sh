# Shared by the bench scripts (sourced, not run): the Release tree they build, waiting for a server,
# and the median-and-range summaries they print.

# build_bench_targets <build dir> <repository root> <targets...>: configures a Release tree (-O2
# -DNDEBUG, no sanitizers, benchmarks only) and builds the targets (JOBS parallel jobs, default 2).
build_bench_targets() {
  local build=$1 root=$2
  shift 2
  cmake -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DHALT_BUILD_BENCHMARKS=ON -DHALT_BUILD_TESTS=OFF -DHALT_BUILD_EXAMPLES=OFF \
    -DHALT_SANITIZER= >/dev/null
  cmake --build "$build" -j "${JOBS:-2}" --target "$@"
}

# wait_listening <port>: until an HTTP server answers on 127.0.0.1:<port>; fails after 10 s.
wait_listening() {
  local i
  for ((i = 0; i < 100; i++)); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

# summary <values...>: "median (min..max)".
summary() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.6g (%.6g..%.6g)", m, v[1], v[NR]}'
}

# median <values...>
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
