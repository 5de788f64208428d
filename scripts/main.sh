#!/usr/bin/env bash
# The main job: build data_service (build/release) and run it, in the foreground, until Ctrl-C
# (SIGINT: graceful shutdown). Arguments go to data_service (try --help); without any it listens on
# 127.0.0.1:8080 and starts its own slow upstream.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$HALT_ROOT"

install_dependencies
configure "$HALT_ROOT" build/release "${HALT_RELEASE_FLAGS[@]}"
cmake --build build/release --target data_service -j "$(nproc)"
exec build/release/apps/data_service/data_service "$@"
