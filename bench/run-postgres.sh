#!/usr/bin/env bash
# The benchmark on both backends back to back (this machine's speed varies
# during a day, so only runs of the same hour compare): bench/run.sh on
# SQLite, then on PostgreSQL, both tables, and how many times slower
# PostgreSQL's full and delta cycles are.
#
#   bench/run-postgres.sh [N]          (default N=100000)
set -euo pipefail
n="${1:-100000}"
here="$(cd "$(dirname "$0")" && pwd)"
cycles() { sed -n 's/^(full cycle: \([0-9.]*\) s; delta cycle: \([0-9.]*\) s)$/\1 \2/p' "$1"; }

out=$(mktemp -d /tmp/idsync-bench-pair-XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "started $(date '+%Y-%m-%d %H:%M')"
IDSYNC_BENCH_DB=sqlite "$here/run.sh" "$n" | tee "$out/sqlite"
echo
IDSYNC_BENCH_DB=postgresql "$here/run.sh" "$n" | tee "$out/postgresql"
read -r sqlite_full sqlite_delta < <(cycles "$out/sqlite")
read -r pg_full pg_delta < <(cycles "$out/postgresql")
echo
echo "ended $(date '+%Y-%m-%d %H:%M')"
printf 'PostgreSQL / SQLite at %s people: full cycle %.2fx (%.2f s / %.2f s), delta cycle %.2fx (%.2f s / %.2f s)\n' \
  "$n" "$(echo "$pg_full / $sqlite_full" | bc -l)" "$pg_full" "$sqlite_full" \
  "$(echo "$pg_delta / $sqlite_delta" | bc -l)" "$pg_delta" "$sqlite_delta"
