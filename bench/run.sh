#!/usr/bin/env bash
# Synchronization benchmark: N people (and N/50 department groups) from an
# HR CSV into an LDIF directory feed and a CSV badge file, then a delta
# cycle (1% adds, 1% deletes, 5% modifies). Prints a Markdown table.
#
#   bench/run.sh [N] [WORKDIR]        (default N=100000, WORKDIR a new temp folder)
#   IDSYNC_BUILD_DIR=DIR bench/run.sh  uses another build folder (default build/)
#   IDSYNC_BENCH_DB=postgresql bench/run.sh [N]
#                                      runs on a PostgreSQL server started for the run
#                                      (scripts/pg-test-server.sh with the settings of
#                                      bench/config/postgresql.conf) and stopped at the end
# Each step's client CPU seconds (user+system of idsync) are printed too, and
# on PostgreSQL the server's (every process of the server, ended ones included).
set -euo pipefail
n="${1:-100000}"
work="${2:-$(mktemp -d /tmp/idsync-bench-XXXXXX)}"
backend="${IDSYNC_BENCH_DB:-sqlite}"
source "$(dirname "$0")/prepare.sh"
source "$root/bench/scenario.sh"
benchbin="$build_dir/bench"
mkdir -p "$work/cfg/data" "$work/cfg/out"
rm -f "$work/idsync.db"* "$work/cfg/out/"*
rm -rf "$work/home"
cp "$root/bench/config/idsync.toml" "$work/cfg/"
"$benchbin/idsync-bench-gen" "$n" "$work/cfg/data"
groups=$(( (n + 49) / 50 ))

case "$backend" in
  sqlite) db_url="sqlite:$work/idsync.db" ;;
  postgresql)
    # A folder of its own: the server may run as another user, who must reach it.
    pgdir=$(mktemp -d /tmp/idsync-bench-pg-XXXXXX)
    stop_server() {
      "$root/scripts/pg-test-server.sh" stop "$pgdir" --discard || true
      pg_cpu_group_stop "$pgdir"
      rm -rf "$pgdir"
    }
    trap stop_server EXIT
    db_url=$("$root/scripts/pg-test-server.sh" start "$pgdir" --owner-pid $$ --wal-segsize 16 \
               --config "$root/bench/config/postgresql.conf")
    pg_cpu_group_start "$pgdir"
    ;;
  *) echo "bench: IDSYNC_BENCH_DB must be sqlite or postgresql, not '$backend'" >&2; exit 2 ;;
esac

install_scenario "$db_url"

server_cpu() {
  [ "$backend" = postgresql ] || { echo 0; return; }
  pg_server_cpu "$pgdir"
}

# Runs one step; records wall seconds, peak resident memory (KiB), and the
# CPU seconds of idsync and of the database server.
declare -A secs rss cpu srv
step() {
  local label="$1"; shift
  local t0 t1 s0 s1
  s0=$(server_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M %U %S" -o "$work/rss" "$bin/idsync" run "$@" >"$work/last.out" 2>/dev/null || {
    echo "bench: '$*' did not succeed:" >&2; cat "$work/last.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  s1=$(server_cpu)
  secs[$label]=$(echo "$t1 - $t0" | bc -l)
  read -r rss[$label] user sys <"$work/rss"
  cpu[$label]=$(echo "$user + $sys" | bc -l)
  srv[$label]=$(echo "$s1 - $s0" | bc -l)
}

run_cycles

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
| N people (+ groups), $backend | $n (+ $groups) |
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
echo "(idsync CPU: $(for k in import sync export_dir export_badges delta_import delta_sync delta_export_dir delta_export_badges; do printf '%s=%.2fs ' $k "${cpu[$k]}"; done))"
echo "(peak memory: $(for k in import sync export_dir export_badges delta_import delta_sync delta_export_dir delta_export_badges; do printf '%s=%dMiB ' $k $((rss[$k] / 1024)); done))"
[ "$backend" = sqlite ] ||
  echo "(server CPU: $(for k in import sync export_dir export_badges delta_import delta_sync delta_export_dir delta_export_badges; do printf '%s=%.2fs ' $k "${srv[$k]}"; done))"
echo "(full cycle: $(printf %.2f "$full_s") s; delta cycle: $(printf %.2f "$delta_s") s)"
echo "(work folder: $work)"
