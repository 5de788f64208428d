# shellcheck shell=bash
# Shared by scripts/test.sh and scripts/main.sh; source it, do not run it.

HALT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build and the tests need.
HALT_PACKAGES=(build-essential cmake libgtest-dev libgmock-dev libbenchmark-dev libboost1.81-dev libssl-dev curl)

# Flags of build/release; main.sh and test.sh share that tree, so they must agree.
# shellcheck disable=SC2034  # used by the scripts that source this file
HALT_RELEASE_FLAGS=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  -DHALT_SANITIZER=
  -DHALT_BUILD_TESTS=ON
  -DHALT_BUILD_BENCHMARKS=ON
  -DHALT_BUILD_EXAMPLES=ON
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
)

# install_dependencies: apt-get installs whichever of HALT_PACKAGES is missing (update only then).
install_dependencies() {
  local missing=() package
  for package in "${HALT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "error: missing packages ${missing[*]}; run as root or install them" >&2
      return 1
    fi
  fi
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# configure <source dir> <build dir> <cmake flags...>: configure (or refresh) a build tree; its output
# goes to build/logs/configure-<name>.log and is shown only if it fails.
configure() {
  local source_dir="$1" build_dir="$2"
  shift 2
  local log
  log="$HALT_ROOT/build/logs/configure-$(basename "$build_dir").log"
  mkdir -p "$(dirname "$log")"
  if ! cmake -S "$source_dir" -B "$build_dir" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: configuring $build_dir failed (log: $log)" >&2
    return 1
  fi
}
