# Sourced by bench/run.sh and bench/pg-statements.sh: what both do to set up
# and run the scenario and to count the PostgreSQL server's CPU. Defines functions
# only; they read root, bin and work from the script that sources this.

# Installs a server named bench on DB_URL (IDSYNC_HOME=$work/home) and
# applies the configuration in $work/cfg.
install_scenario() {
  local db_url="$1"
  export IDSYNC_HOME="$work/home"
  echo "bench-password" | "$bin/idsync-setup" install --db "$db_url" --server bench \
    --service-account 'BENCH\svc' --service-password-stdin --admins-group domain:Admins >/dev/null
  "$bin/idsync" config apply "$work/cfg" >/dev/null
}

# The scenario's full cycle and, a day later (hr-delta.csv), its delta
# cycle, each run through the sourcing script's `step LABEL MA PROFILE`.
run_cycles() {
  step import hr full-import
  step sync hr full-sync
  step export_dir directory export
  step export_badges badges export
  cp "$work/cfg/data/hr-delta.csv" "$work/cfg/data/hr.csv"
  step delta_import hr delta-import
  step delta_sync hr delta-sync
  step delta_export_dir directory export
  step delta_export_badges badges export
}

# Puts every process of the PostgreSQL server in folder PGDIR into a cgroup
# of its own (cgroup v1 cpuacct, as root), whose usage then counts the time
# of every process the server runs, ended ones included, whichever step
# ends them. Without it (no such cgroup, not root) pg_server_cpu reads
# /proc, which missed or moved whole sessions at 1M (docs/performance.md,
# "Where things stand (2026-11-23, 07:15)"). pg_cpu_group_stop removes the
# group once the server has stopped.
pg_cpu_group_start() {
  local pgdir="$1" pm p g="/sys/fs/cgroup/cpuacct/idsync-bench-$$"
  [ -w /sys/fs/cgroup/cpuacct ] && mkdir "$g" 2>/dev/null || return 0
  pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  for p in "$pm" $(cat "/proc/$pm/task/$pm/children"); do echo "$p" >"$g/cgroup.procs" 2>/dev/null || true; done
  echo "$g" >"$pgdir/cpu-group"
}
pg_cpu_group_stop() {
  [ -f "$1/cpu-group" ] && rmdir "$(cat "$1/cpu-group")" 2>/dev/null
  return 0
}

# CPU seconds the PostgreSQL server in folder PGDIR has used so far: its
# cgroup's usage (pg_cpu_group_start), or else the postmaster's own and that of its ended children (which it has waited for),
# plus the live ones'. It first waits (up to 5 s) for the sessions of the
# step that ended, and for the postmaster to reap every child that ended
# (a zombie's time moves to the postmaster's between the two reads below:
# a session's whole time could be missed), so that their time is counted
# in that step.
pg_server_cpu() {
  local pgdir="$1" pm ticks=0 f i child
  pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  for i in $(seq 100); do
    if ! pgrep -P "$pm" -f '^postgres: idsync ' >/dev/null && ! ps --ppid "$pm" -o stat= | grep -q '^Z'; then
      break
    fi
    sleep 0.05
  done
  if [ -f "$pgdir/cpu-group" ]; then
    echo "$(cat "$(cat "$pgdir/cpu-group")/cpuacct.usage") / 1000000000" | bc -l
    return
  fi
  f=($(sed 's/.*) //' "/proc/$pm/stat"))
  ticks=$(( f[11] + f[12] + f[13] + f[14] ))
  for child in $(cat "/proc/$pm/task/$pm/children"); do
    f=($(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null)) || continue
    [ "${#f[@]}" -gt 12 ] && ticks=$(( ticks + f[11] + f[12] ))
  done
  echo "$ticks / $(getconf CLK_TCK)" | bc -l
}
