#!/usr/bin/env bash
# Where the PostgreSQL server's time goes, per statement: the benchmark's
# scenario (bench/run.sh) on a server started with pg_stat_statements
# (Debian's postgresql package ships it), and after each step the statements
# that took the most server time, with their calls, rows and WAL records,
# against the server's CPU seconds for the step. The difference between the
# CPU and the statements' own time is what the server spends around them
# (reading and answering protocol messages, starting and ending
# transactions).
#
#   bench/pg-statements.sh [N] [TOP]      (default N=10000, TOP=12)
#   IDSYNC_BUILD_DIR=DIR bench/pg-statements.sh   another build folder
#   IDSYNC_PROGRAMS=DIR bench/pg-statements.sh    programs built already (no build)
set -euo pipefail
n="${1:-10000}"
top="${2:-12}"
if [ -n "${IDSYNC_PROGRAMS:-}" ]; then
  # Programs built already: IDSYNC_PROGRAMS holds idsync and idsync-setup,
  # and idsync-bench-gen in its bench/ subfolder or beside them.
  root="$(cd "$(dirname "$0")/.." && pwd)"
  bin="$IDSYNC_PROGRAMS"
  gen="$bin/bench/idsync-bench-gen"
  [ -x "$gen" ] || gen="$bin/idsync-bench-gen"
else
  source "$(dirname "$0")/prepare.sh"
  gen="$build_dir/bench/idsync-bench-gen"
fi
source "$root/bench/scenario.sh"
work=$(mktemp -d /tmp/idsync-pgstat-XXXXXX)
pgdir=$(mktemp -d /tmp/idsync-pgstat-pg-XXXXXX)
conf="$work/postgresql.conf"
cat "$root/bench/config/postgresql.conf" >"$conf"
cat >>"$conf" <<'EOF'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
pg_stat_statements.max = 5000
EOF
stop_server() {
  "$root/scripts/pg-test-server.sh" stop "$pgdir" --discard || true
  pg_cpu_group_stop "$pgdir"
  rm -rf "$pgdir" "$work"
}
trap stop_server EXIT
db_url=$("$root/scripts/pg-test-server.sh" start "$pgdir" --owner-pid $$ --wal-segsize 16 --config "$conf")
pg_cpu_group_start "$pgdir"
port=$(echo "$db_url" | sed 's/.*:\([0-9]*\)\/idsync.*/\1/')
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -p "$port" -U postgres -d idsync "$@"; }
psql_admin -c "CREATE EXTENSION pg_stat_statements"

mkdir -p "$work/cfg/data" "$work/cfg/out"
cp "$root/bench/config/idsync.toml" "$work/cfg/"
"$gen" "$n" "$work/cfg/data"
install_scenario "$db_url"
server_cpu() { pg_server_cpu "$pgdir"; }

step() {
  local label="$1" s0 s1 t0 t1; shift
  psql_admin -c "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
  s0=$(server_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/cpu" "$bin/idsync" run "$@" >"$work/last.out" 2>/dev/null || {
    echo "'$*' did not succeed:" >&2; cat "$work/last.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  s1=$(server_cpu)
  read -r user sys <"$work/cpu"
  printf '\n## %s: %.2f s wall, idsync CPU %.2f s, server CPU %.2f s\n\n' "$label" "$(echo "$t1 - $t0" | bc -l)" \
    "$(echo "$user + $sys" | bc -l)" "$(echo "$s1 - $s0" | bc -l)"
  psql_admin -A -F ' | ' -c "
    WITH s AS (SELECT * FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'idsync')
                 AND query NOT LIKE '%pg_stat_statements%')
    SELECT 'all' AS statement, sum(calls) AS calls, round(sum(total_exec_time)::numeric) AS exec_ms,
           round(sum(total_plan_time)::numeric) AS plan_ms, sum(rows) AS rows, sum(wal_records) AS wal_records,
           round(sum(jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time)::numeric)
             AS jit_ms
      FROM s
    UNION ALL
    SELECT * FROM (SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 150), calls,
                          round(total_exec_time::numeric), round(total_plan_time::numeric), rows, wal_records,
                          round((jit_generation_time + jit_inlining_time + jit_optimization_time +
                                 jit_emission_time)::numeric)
                     FROM s ORDER BY total_exec_time + total_plan_time DESC LIMIT $top) AS t"
  # Row writes of the step per table (HOT: updates that added no index entries).
  psql_admin -A -F ' | ' -c "SELECT relname, n_tup_ins AS inserted, n_tup_upd AS updated, n_tup_hot_upd AS hot,
                                    n_tup_del AS deleted FROM pg_stat_user_tables
                               WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname"
}

run_cycles
