#!/usr/bin/env bash
# halt::http against a minimal Boost.Beast server, under wrk, on loopback; then the disconnect-to-token
# latency and the memory per idle connection.
#
#   bench/http_bench.sh [seconds per round (10)] [rounds (3)]
#
# Builds bench/http_bench_server.cpp (halt::http, one trivial route) and bench/beast_baseline.cpp (Beast's
# http_server_async shape) in a Release tree, checks that both answer the very same bytes, then runs
# wrk against each in interleaved rounds (halt, beast; beast, halt; ...) so that both see the machine's
# slow and fast moments. Prints each round, then the median and range of requests/s, of p99 latency
# and of the server's CPU time per request, and the ratios of the medians (the issue asks for a
# throughput ratio halt/beast >= 0.9). On a shared machine the CPU time per request is the steadier
# of the two; pin the servers and wrk apart (SERVER_CPUS, WRK_CPUS) for the throughput.
#
# Environment:
#   HALT_BENCH_BUILD_DIR  build tree (default: build/bench under the repository root)
#   JOBS                  parallel build jobs (default: 2)
#   THREADS               io threads of each server (default: 1)
#   WRK_THREADS           wrk threads (default: 1)
#   CONNECTIONS           wrk connections (default: 64)
#   SERVER_CPUS, WRK_CPUS taskset CPU lists for the servers and for wrk (default: no pinning)
#   SAMPLES, IDLE         disconnect-latency samples (2000) and idle connections (2000)
#   SKIP_LATENCY=1        skip the latency and memory program
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALT_BENCH_BUILD_DIR:-$root/build/bench}
seconds=${1:-10}
rounds=${2:-3}
threads=${THREADS:-1}
wrk_threads=${WRK_THREADS:-1}
connections=${CONNECTIONS:-64}
halt_port=${HALT_PORT:-18080}
beast_port=${BEAST_PORT:-18081}

# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
build_bench_targets "$build" "$root" halt_http_bench_server halt_beast_baseline halt_http_disconnect_latency

pin() { # pin <cpu list or empty> <command...>
  local cpus=$1
  shift
  if [[ -n $cpus ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

pids=()
cleanup() { # SIGTERM, up to 5 s to exit, then SIGKILL
  local pid i
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# launch <command...>: in the background, pinned to SERVER_CPUS; exec, so that $! is the server itself.
launch() {
  if [[ -n ${SERVER_CPUS:-} ]]; then exec taskset -c "$SERVER_CPUS" "$@"; else exec "$@"; fi
}
launch "$build/bench/halt_http_bench_server" "$halt_port" "$threads" &
pids+=($!)
launch "$build/bench/halt_beast_baseline" "$beast_port" "$threads" &
pids+=($!)

wait_listening "$halt_port"
wait_listening "$beast_port"

# Same bytes: the raw responses must be identical.
raw() { printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; cat >&3; cat <&3"; }
if ! diff <(raw "$halt_port") <(raw "$beast_port") >/dev/null; then
  echo "the two servers do not answer the same bytes:" >&2
  diff <(raw "$halt_port" | cat -A) <(raw "$beast_port" | cat -A) >&2 || true
  exit 1
fi
echo "== same bytes: $(raw "$halt_port" | wc -c) per response"

# cpu_ticks <pid>: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_wrk <port> <server pid>: prints "<requests/s> <p99 in ms> <server CPU microseconds per request>".
# The CPU time per request is the steadier number on a shared machine: it does not depend on who else
# got the CPUs meanwhile.
run_wrk() {
  local output rps p99 before after
  before=$(cpu_ticks "$2")
  output=$(pin "${WRK_CPUS:-}" wrk -t "$wrk_threads" -c "$connections" -d "${seconds}s" --latency "http://127.0.0.1:$1/")
  after=$(cpu_ticks "$2")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; print v}' <<<"$output")
  awk -v r="$rps" -v p="$p99" -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v s="$seconds" \
    'BEGIN {printf "%s %s %.2f\n", r, p, t / hz * 1e6 / (r * s)}'
}

halt_rps=() halt_p99=() halt_cpu=() beast_rps=() beast_p99=() beast_cpu=()
echo "== wrk: $rounds rounds of ${seconds}s, $connections connections, $wrk_threads wrk thread(s), $threads server io thread(s)"
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2 == 1)); then order=(halt beast); else order=(beast halt); fi
  for server in "${order[@]}"; do
    if [[ $server == halt ]]; then port=$halt_port pid=${pids[0]}; else port=$beast_port pid=${pids[1]}; fi
    read -r rps p99 cpu < <(run_wrk "$port" "$pid")
    printf '   round %d  %-5s  %10.0f req/s  p99 %7.3f ms  %6.2f us CPU/request\n' "$round" "$server" "$rps" "$p99" "$cpu"
    if [[ $server == halt ]]; then
      halt_rps+=("$rps") halt_p99+=("$p99") halt_cpu+=("$cpu")
    else
      beast_rps+=("$rps") beast_p99+=("$p99") beast_cpu+=("$cpu")
    fi
  done
done

echo "== summary (median, range)"
echo "   halt::http   req/s $(summary "${halt_rps[@]}")   p99 ms $(summary "${halt_p99[@]}")   us CPU/req $(summary "${halt_cpu[@]}")"
echo "   Beast        req/s $(summary "${beast_rps[@]}")   p99 ms $(summary "${beast_p99[@]}")   us CPU/req $(summary "${beast_cpu[@]}")"
awk -v h="$(median "${halt_rps[@]}")" -v b="$(median "${beast_rps[@]}")" \
  'BEGIN {printf "   throughput ratio halt/beast (medians): %.3f\n", h / b}'
awk -v h="$(median "${halt_cpu[@]}")" -v b="$(median "${beast_cpu[@]}")" \
  'BEGIN {printf "   CPU per request ratio beast/halt (medians): %.3f\n", b / h}'

cleanup
pids=()

if [[ -z ${SKIP_LATENCY:-} ]]; then
  echo "== disconnect-to-token latency and memory per idle connection"
  pin "${SERVER_CPUS:-}" "$build/bench/halt_http_disconnect_latency" "${SAMPLES:-2000}" "${IDLE:-2000}" "$threads"
fi
