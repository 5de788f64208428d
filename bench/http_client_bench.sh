#!/usr/bin/env bash
# halt::http::client beside curl: the same loop of sequential GETs over one kept-alive connection,
# against the same server (bench/beast_baseline.cpp), in interleaved rounds; then the client's own
# concurrent figure and its cancel-to-return latency (halt_http_client_bench, in-process server).
#
#   bench/http_client_bench.sh [requests per round (20000)] [rounds (3)]
#
# curl is given one globbed URL ("/?n=[1-N]"), so it sends the N requests one after another on one
# reused connection, as the client's sequential loop does; its time includes starting the process,
# a few milliseconds against the whole run. Prints each round, then the median and range of each.
#
# Environment:
#   HALT_BENCH_BUILD_DIR  build tree (default: build/bench under the repository root)
#   JOBS                  parallel build jobs (default: 2)
#   PORT                  the server's port (default: 18082)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALT_BENCH_BUILD_DIR:-$root/build/bench}
requests=${1:-20000}
rounds=${2:-3}
port=${PORT:-18082}

# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
build_bench_targets "$build" "$root" halt_http_client_bench halt_beast_baseline

"$build/bench/halt_beast_baseline" "$port" 1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
wait_listening "$port"
url="http://127.0.0.1:$port/"

# halt_rate: the client's sequential requests/s against the server.
halt_rate() {
  "$build/bench/halt_http_client_bench" --url "$url" --requests "$requests" --callers 1 --cancels 0 |
    awk '/sequential/ {print $(NF - 3)}'
}
# curl_rate: curl's requests/s for the same loop.
curl_rate() {
  local start end
  start=$(date +%s%N)
  curl -s -o /dev/null "${url}?n=[1-$requests]"
  end=$(date +%s%N)
  awk -v n="$requests" -v ns="$((end - start))" 'BEGIN {printf "%.0f", n / (ns / 1e9)}'
}

halt_rates=() curl_rates=()
echo "== $rounds rounds of $requests sequential GETs on one connection"
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2 == 1)); then order=(halt curl); else order=(curl halt); fi
  for who in "${order[@]}"; do
    if [[ $who == halt ]]; then rate=$(halt_rate); halt_rates+=("$rate"); else rate=$(curl_rate); curl_rates+=("$rate"); fi
    printf '   round %d  %-4s  %8s requests/s\n' "$round" "$who" "$rate"
  done
done

echo "== summary (median, range)"
echo "   halt::http::client  $(summary "${halt_rates[@]}") requests/s"
echo "   curl                $(summary "${curl_rates[@]}") requests/s"

echo "== the client alone: concurrent callers and cancel-to-return latency"
"$build/bench/halt_http_client_bench" --requests "$requests"
