#!/usr/bin/env bash
# Configures and builds idsync into build/ (incremental). IDSYNC_BUILD_DIR
# names another build folder (absolute, or relative to the project).
set -euo pipefail
cd "$(dirname "$0")/.."
build_type="${IDSYNC_BUILD_TYPE:-RelWithDebInfo}"
build_dir="${IDSYNC_BUILD_DIR:-build}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)"
