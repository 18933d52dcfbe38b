#!/usr/bin/env bash
# Installs what idsync needs, builds it and runs every test.
# Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
exec ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
