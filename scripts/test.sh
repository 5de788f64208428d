#!/usr/bin/env bash
# Every test, from a fresh Debian 12 (as root) or an existing checkout (incremental):
#   1. installs the Debian packages that are missing;
#   2. configures build/release (RelWithDebInfo: tests, benchmarks, examples), build/asan (ASan+UBSan,
#      tests) and build/tsan (TSan, tests), and builds the three at once in the background;
#   3. runs ctest in each tree;
#   4. installs build/release into a temporary prefix and builds and runs tests/consumer against it
#      with find_package, then again with add_subdirectory of this checkout.
# Build output is in build/logs/; it is printed when a step fails. Exits non-zero if any step fails.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$HALT_ROOT"

trees=(release asan tsan)
declare -A tree_flags=(
  [release]="${HALT_RELEASE_FLAGS[*]}"
  [asan]="-DCMAKE_BUILD_TYPE=Debug -DHALT_SANITIZER=address -DHALT_BUILD_TESTS=ON -DHALT_BUILD_BENCHMARKS=OFF -DHALT_BUILD_EXAMPLES=OFF"
  [tsan]="-DCMAKE_BUILD_TYPE=Debug -DHALT_SANITIZER=thread -DHALT_BUILD_TESTS=ON -DHALT_BUILD_BENCHMARKS=OFF -DHALT_BUILD_EXAMPLES=OFF"
)
declare -A tree_environment=(
  [release]=""
  [asan]="ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  [tsan]="TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$HALT_ROOT/tests/tsan.supp"
)

cpus="$(nproc)"
jobs_per_tree=$(((cpus + ${#trees[@]} - 1) / ${#trees[@]}))
logs="$HALT_ROOT/build/logs"
started=$SECONDS
results=()      # "step: ok|FAILED", in order
failures=()
build_pids=()
install_prefix=""

record() { # record <step> <status>
  results+=("$1: $2")
  if [[ $2 == FAILED ]]; then failures+=("$1"); fi
}

finish() {
  local status=$?
  local pid
  for pid in "${build_pids[@]}"; do  # interrupted: stop the background builds (each its own group)
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  if [[ -n $install_prefix ]]; then rm -rf "$install_prefix"; fi
  echo
  echo "== summary"
  local line
  for line in "${results[@]}"; do echo "   $line"; done
  if ((status == 0 && ${#failures[@]} == 0)); then
    echo "test.sh: PASSED, ${#results[@]} steps in $((SECONDS - started))s"
  else
    local failed
    failed="$(printf '%s, ' "${failures[@]}")"
    echo "test.sh: FAILED${failures[*]:+ (${failed%, })} after $((SECONDS - started))s"
    if ((status == 0)); then status=1; fi
  fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "== dependencies"
if ! install_dependencies; then
  record "dependencies" FAILED
  exit 1
fi

echo "== configure ${trees[*]}"
for tree in "${trees[@]}"; do
  # shellcheck disable=SC2086  # the flags are words
  if ! configure "$HALT_ROOT" "build/$tree" ${tree_flags[$tree]}; then
    record "configure $tree" FAILED
    exit 1
  fi
done

echo "== build ${trees[*]} in parallel (-j$jobs_per_tree each; logs in build/logs/)"
declare -A build_pid=()
for tree in "${trees[@]}"; do
  # setsid: its own process group, so an interrupted run can stop the whole build.
  setsid cmake --build "build/$tree" -j "$jobs_per_tree" >"$logs/build-$tree.log" 2>&1 &
  build_pid[$tree]=$!
  build_pids+=("$!")
done
declare -A built=()
for tree in "${trees[@]}"; do
  if wait "${build_pid[$tree]}"; then
    built[$tree]=1
    record "build $tree" ok
  else
    echo "---- build/$tree failed; build/logs/build-$tree.log:"
    cat "$logs/build-$tree.log"
    record "build $tree" FAILED
  fi
done
build_pids=()

# Sanitizer runtimes need a predictable address layout; ASLR with high entropy breaks TSan's.
no_aslr=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  no_aslr=(setarch "$(uname -m)" -R)
fi

for tree in "${trees[@]}"; do
  if [[ -z ${built[$tree]:-} ]]; then
    record "ctest $tree" "skipped (build failed)"
    continue
  fi
  echo "== ctest build/$tree"
  launcher=()
  if [[ $tree != release ]]; then launcher=("${no_aslr[@]}"); fi
  # shellcheck disable=SC2086  # the environment is words
  if env ${tree_environment[$tree]} "${launcher[@]}" \
      ctest --test-dir "build/$tree" --output-on-failure --no-tests=error -j "$cpus" --timeout 300; then
    record "ctest $tree" ok
  else
    record "ctest $tree" FAILED
  fi
done

# run_consumer <name> <cmake flags...>: configure, build and run tests/consumer in build/consumer-<name>.
run_consumer() {
  local name="$1"
  shift
  local dir="build/consumer-$name"
  echo "== consumer via $name"
  if configure "$HALT_ROOT/tests/consumer" "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" &&
      cmake --build "$dir" -j "$cpus" >"$logs/build-consumer-$name.log" 2>&1 &&
      "$dir/halt_consumer" &&
      { [[ ! -x "$dir/halt_consumer_http" ]] || "$dir/halt_consumer_http"; }; then
    record "consumer via $name" ok
  else
    local status=$?
    echo "---- consumer via $name failed (exit $status); build/logs/build-consumer-$name.log:"
    cat "$logs/build-consumer-$name.log" 2>/dev/null || true
    record "consumer via $name" FAILED
  fi
}

install_prefix="$(mktemp -d "${TMPDIR:-/tmp}/halt-install.XXXXXX")"
echo "== install build/release into $install_prefix"
# Only the library must be built for this, even if something else in build/release failed.
if cmake --build build/release --target halt >"$logs/install.log" 2>&1 &&
    cmake --install build/release --prefix "$install_prefix" >>"$logs/install.log" 2>&1; then
  record "install" ok
  # --fresh: the prefix is new on every run, so nothing cached from the last one may be trusted.
  run_consumer find_package --fresh -DCMAKE_PREFIX_PATH="$install_prefix"
else
  cat "$logs/install.log"
  record "install" FAILED
fi
run_consumer add_subdirectory -DHALT_CONSUMER_VIA_SUBDIRECTORY=ON -DHALT_SOURCE_DIR="$HALT_ROOT"
