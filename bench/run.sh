#!/usr/bin/env bash
# Synchronization benchmark: N people (and N/50 department groups) from an
# HR CSV into an LDIF directory feed and a CSV badge file, then a delta
# cycle (1% adds, 1% deletes, 5% modifies). Prints a Markdown table.
#
#   bench/run.sh [N] [WORKDIR]        (default N=100000, WORKDIR a new temp folder)
#   IDSYNC_BUILD_DIR=DIR bench/run.sh  uses another build folder (default build/)
set -euo pipefail
n="${1:-100000}"
work="${2:-$(mktemp -d /tmp/idsync-bench-XXXXXX)}"
source "$(dirname "$0")/prepare.sh"
benchbin="$build_dir/bench"
mkdir -p "$work/cfg/data" "$work/cfg/out"
rm -f "$work/idsync.db"* "$work/cfg/out/"*
rm -rf "$work/home"
cp "$root/bench/config/idsync.toml" "$work/cfg/"
"$benchbin/idsync-bench-gen" "$n" "$work/cfg/data"
groups=$(( (n + 49) / 50 ))
export IDSYNC_HOME="$work/home"
echo "bench-password" | "$bin/idsync-setup" install --db "sqlite:$work/idsync.db" --server bench \
  --service-account 'BENCH\svc' --service-password-stdin --admins-group domain:Admins >/dev/null
"$bin/idsync" config apply "$work/cfg" >/dev/null

# Runs one step; records wall seconds and peak resident memory (KiB).
declare -A secs rss
step() {
  local label="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$bin/idsync" run "$@" >"$work/last.out" 2>/dev/null || {
    echo "bench: '$*' did not succeed:" >&2; cat "$work/last.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs[$label]=$(echo "$t1 - $t0" | bc -l)
  rss[$label]=$(cat "$work/rss")
}

step import hr full-import
step sync hr full-sync
step export_dir directory export
step export_badges badges export
cp "$work/cfg/data/hr-delta.csv" "$work/cfg/data/hr.csv"
step delta_import hr delta-import
step delta_sync hr delta-sync
step delta_export_dir directory export
step delta_export_badges badges export

raw=$("$benchbin/idsync-bench-sqlite" "$n" "$work/raw.db")
rm -f "$work/raw.db"*
raw_insert=$(echo "$raw" | sed 's/.*"insert_rows_per_s": \([0-9]*\).*/\1/')

objects=$((n + groups))
export_s=$(echo "${secs[export_dir]} + ${secs[export_badges]}" | bc -l)
full_s=$(echo "${secs[import]} + ${secs[sync]} + $export_s" | bc -l)
delta_s=$(echo "${secs[delta_import]} + ${secs[delta_sync]} + ${secs[delta_export_dir]} + ${secs[delta_export_badges]}" | bc -l)
peak=0
for k in "${!rss[@]}"; do (( rss[$k] > peak )) && peak=${rss[$k]}; done
rate() { printf "%.0f" "$(echo "$1 / $2" | bc -l)"; }

cat <<TABLE
| N people (+ groups) | $n (+ $groups) |
|---|---|
| full import | $(printf %.2f "${secs[import]}") s, $(rate $objects "${secs[import]}") objects/s |
| full sync | $(printf %.2f "${secs[sync]}") s, $(rate $objects "${secs[sync]}") objects/s |
| export (directory + badges) | $(printf %.2f "$export_s") s |
| full cycle, people / (import+sync+export) | $(rate $n "$full_s") people/s ($(printf %.2f "$full_s") s) |
| delta cycle (1% add, 1% delete, 5% modify) | $(printf %.2f "$delta_s") s |
| peak memory (largest step) | $((peak / 1024)) MiB |
| raw SQLite insert, same row count | $raw_insert rows/s; full cycle is $(printf %.1f "$(echo "$raw_insert / ($n / $full_s)" | bc -l)")x slower |
TABLE
echo "(steps: $(for k in import sync export_dir export_badges delta_import delta_sync delta_export_dir delta_export_badges; do printf '%s=%.2fs ' $k "${secs[$k]}"; done))"
echo "(work folder: $work)"
