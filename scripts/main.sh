#!/usr/bin/env bash
# The main job: build the core example (build/release) and run it. Arguments go to the example.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$HALT_ROOT"

install_dependencies
configure "$HALT_ROOT" build/release "${HALT_RELEASE_FLAGS[@]}"
cmake --build build/release --target core_demo -j "$(nproc)"
exec build/release/examples/core_demo "$@"
