#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, from Debian's `postgresql` package.
#
# Usage:
#   scripts/pg-test-server.sh start DIR [PORT] [--owner-pid PID] [--listen ADDR[,ADDR...]] [--config FILE]
#                                   [--wal-segsize MB]
#   scripts/pg-test-server.sh stop DIR [--discard]
#   scripts/pg-test-server.sh restart DIR
#
# start: creates a cluster in DIR/data (DIR must exist and be empty),
# listening on 127.0.0.1 only, on PORT or a free
# port, with its unix socket in DIR and fsync on. It creates the role
# `idsync` (a random password, written to DIR/pgpass for libpq's passfile)
# and the database `idsync` it owns, then prints the connection URL:
#   postgresql://idsync@127.0.0.1:PORT/idsync?passfile=DIR/pgpass
# The superuser `postgres` connects without password over the socket in DIR
# (host=DIR), which only DIR's owner can reach. When run as root, the server
# runs as the system user idsync-pgtest (created if missing; `nobody` if it
# cannot be), which then owns DIR. With --owner-pid, a watchdog stops the
# server when that process ends, so a crashed test leaves no server behind.
# With --listen, the server also listens on those addresses (for test hosts
# in network namespaces) and accepts the test role from their /24 networks.
# A start counts only when every address has its socket (PostgreSQL itself
# starts on those it could bind): a random port is then tried again, a given
# PORT fails with exit code 1.
# With --config, the settings of FILE (postgresql.conf lines) are added after
# the script's own (the benchmark's tuned server uses it). With --wal-segsize,
# the cluster's WAL segments have that size in MB (a power of two from 1 to
# 1024; fixed when the cluster is made) instead of the tests' 1 MB, which
# keeps each test's copy of the cluster small; PostgreSQL's default, which a
# production server has, is 16 MB. Every new segment is written full of
# zeros and flushed before use, so a server writing a lot of WAL (the
# benchmark's) waits for that once per segment.
# stop: stops the server of DIR (fast shutdown: sessions end, a checkpoint
# is written) and waits for it to end. With --discard, for a cluster about to
# be deleted, it skips the checkpoint (immediate shutdown), which with fsync
# on can take seconds per database.
#
# Exit codes: 0 done, 1 failed (see stderr and DIR/server.log), 2 usage,
# 3 the PostgreSQL server programs are not installed.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [PORT] [--owner-pid PID] [--listen ADDR[,ADDR...]] [--config FILE] [--wal-segsize MB]" \
       "| stop DIR [--discard]" >&2
  exit 2
}

find_bindir() {
  local dir=${PG_BINDIR:-}
  [ -n "$dir" ] || dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    echo "pg-test-server: PostgreSQL server programs not found under ${PG_BINDIR:-/usr/lib/postgresql/*/bin};" \
         "run scripts/install-deps.sh (it installs Debian's postgresql package)" >&2
    exit 3
  fi
  echo "$dir"
}

# Runs a command as the server's user (root may not run PostgreSQL).
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$server_user" -- "$@"
  else
    "$@"
  fi
}

pick_server_user() {
  server_user=$(id -un)
  [ "$(id -u)" -eq 0 ] || return 0
  server_user=idsync-pgtest
  if ! id -u "$server_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$server_user" \
      2>/dev/null || server_user=nobody
  fi
}

# A cluster from initdb with the role and database for the tests, made once
# per PostgreSQL version and server user and then copied for each start:
# initdb takes seconds, a copy a fraction of one. Prints its path. (v1 in
# the name: change it when the recipe below changes.) WAL_MB: the size of
# its WAL segments.
template_cluster() {
  local bindir=$1 wal_mb=$2 version cache work
  version=$("$bindir/postgres" --version | awk '{print $3}')
  cache="${TMPDIR:-/tmp}/idsync-pgtest-template-v1-$version-$server_user"
  [ "$wal_mb" = 1 ] || cache="$cache-wal$wal_mb"
  # Only a template the server user owns (made by this script) is used.
  if [ -f "$cache/PG_VERSION" ] && [ "$(stat -c %U "$cache")" = "$server_user" ]; then
    echo "$cache"
    return
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/idsync-pgtest-initdb.XXXXXX")
  [ "$(id -u)" -ne 0 ] || chown "$server_user" "$work"
  # initdb's own final sync only matters for a machine crash while the
  # template is new; the servers run with fsync on. 1 MB WAL segments (the
  # tests') keep the copy small.
  (cd "$work" && as_server_user "$bindir/initdb" -D "$work/data" -U postgres --auth-local=trust \
     --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync --wal-segsize="$wal_mb" \
     >"$work/initdb.log" 2>&1 &&
   as_server_user "$bindir/pg_ctl" start -w -t 60 -D "$work/data" -l "$work/server.log" \
     -o "-c listen_addresses='' -c unix_socket_directories='$work'" >/dev/null &&
   "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -U postgres -d postgres \
     -c "CREATE ROLE idsync LOGIN CREATEDB" -c "CREATE DATABASE idsync OWNER idsync" >>"$work/initdb.log" 2>&1 &&
   as_server_user "$bindir/pg_ctl" stop -w -t 60 -D "$work/data" -m fast >/dev/null) || {
    echo "pg-test-server: making the template cluster failed:" >&2
    cat "$work/initdb.log" "$work/server.log" >&2 2>/dev/null
    as_server_user "$bindir/pg_ctl" stop -D "$work/data" -m immediate >/dev/null 2>&1 || true
    rm -rf "$work"
    exit 1
  }
  # Atomic: of two starts making the template at once, one rename wins.
  mv -T "$work/data" "$cache" 2>/dev/null || true
  rm -rf "$work"
  echo "$cache"
}

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

start() {
  local dir=$1 port=${2:-} owner_pid=${3:-} listen=${4:-} config=${5:-} wal_mb=${6:-1}
  local bindir
  case "$wal_mb" in
    1|2|4|8|16|32|64|128|256|512|1024) ;;
    *) echo "pg-test-server: --wal-segsize must be a power of two from 1 to 1024, not '$wal_mb'" >&2; exit 2 ;;
  esac
  if [ -n "$config" ] && [ ! -r "$config" ]; then
    echo "pg-test-server: cannot read the configuration file $config" >&2
    exit 1
  fi
  [ -z "$config" ] || config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  bindir=$(find_bindir)
  [ -d "$dir" ] || { echo "pg-test-server: folder $dir does not exist" >&2; exit 1; }
  dir=$(cd "$dir" && pwd)
  pick_server_user
  [ "$(id -u)" -ne 0 ] || chown "$server_user" "$dir"
  chmod 0700 "$dir"
  cd "$dir"  # the server user may not be able to read the caller's folder

  local template
  template=$(template_cluster "$bindir" "$wal_mb")
  cp -a "$template" "$dir/data"
  cat >"$dir/data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  local addresses="127.0.0.1" addr
  for addr in ${listen//,/ }; do
    addresses="$addresses,$addr"
    echo "host all all ${addr%.*}.0/24 scram-sha-256" >>"$dir/data/pg_hba.conf"
  done

  # Random ports come from below the kernel's range for outgoing connections:
  # a port some connection holds as its local end is not seen by
  # port_in_use, and PostgreSQL, which then fails to bind one of several
  # addresses, starts anyway on the others (only a warning in its log).
  local tries=0 fixed=${port:+1} low=32768 span
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  span=$((low - 20000))
  [ "$span" -ge 1000 ] || span=10000
  while :; do
    if [ -z "$fixed" ]; then
      port=$((20000 + RANDOM % span))
      if port_in_use "$port"; then continue; fi
    fi
    cat >"$dir/data/postgresql.auto.conf" <<EOF
listen_addresses = '$addresses'
port = $port
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 40
shared_buffers = 64MB
EOF
    [ -z "$config" ] || cat "$config" >>"$dir/data/postgresql.auto.conf"
    rm -f "$dir/server.log"  # pg_ctl appends: the checks below read this attempt's log only
    if as_server_user "$bindir/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" >/dev/null 2>&1; then
      # Started, but every address must have its socket, 127.0.0.1 above all.
      grep -q "could not create listen socket" "$dir/server.log" || break
      as_server_user "$bindir/pg_ctl" stop -w -t 60 -D "$dir/data" -m immediate >/dev/null 2>&1 || true
    fi
    tries=$((tries + 1))
    # Another program may have taken the port since it was checked.
    if [ -n "$fixed" ] || [ "$tries" -ge 5 ] || ! grep -q "could not bind\|Address already in use" "$dir/server.log"; then
      echo "pg-test-server: the server did not start; its log ($dir/server.log) ends with:" >&2
      tail -n 20 "$dir/server.log" >&2
      exit 1
    fi
  done

  if [ -n "$owner_pid" ]; then
    # tail --pid returns when the owner ends; the server then goes too.
    local stop_cmd="'$bindir/pg_ctl' stop -D '$dir/data' -m immediate"
    [ "$(id -u)" -ne 0 ] || stop_cmd="runuser -u '$server_user' -- $stop_cmd"
    setsid bash -c "tail --pid=$owner_pid -f /dev/null; $stop_cmd" </dev/null >/dev/null 2>&1 &
  fi

  local password
  password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
    -c "ALTER ROLE idsync PASSWORD '$password'" >/dev/null
  (umask 077 && echo "*:$port:*:idsync:$password" >"$dir/pgpass")
  echo "postgresql://idsync@127.0.0.1:$port/idsync?passfile=$dir/pgpass"
}

stop() {
  local dir=$1 mode=fast bindir
  [ "${2:-}" != --discard ] || mode=immediate
  bindir=$(find_bindir)
  [ -f "$dir/data/postmaster.pid" ] || return 0
  server_user=$(stat -c %U "$dir/data")
  cd "$dir"
  as_server_user "$bindir/pg_ctl" stop -w -t 60 -D "$dir/data" -m "$mode" >/dev/null
}

# restart: stops the server of DIR (fast: sessions end) and starts it again
# on the same port, as a database restart in production would.
restart() {
  local dir=$1 bindir
  bindir=$(find_bindir)
  server_user=$(stat -c %U "$dir/data")
  cd "$dir"
  as_server_user "$bindir/pg_ctl" restart -w -t 60 -D "$dir/data" -m fast -l "$dir/server.log" >/dev/null
}

[ $# -ge 2 ] || usage
case "$1" in
  start)
    dir=$2
    shift 2
    port="" owner="" listen="" config="" wal_mb=1
    while [ $# -gt 0 ]; do
      case "$1" in
        --owner-pid) owner=${2:?}; shift 2 ;;
        --listen) listen=${2:?}; shift 2 ;;
        --config) config=${2:?}; shift 2 ;;
        --wal-segsize) wal_mb=${2:?}; shift 2 ;;
        *) port=$1; shift ;;
      esac
    done
    start "$dir" "$port" "$owner" "$listen" "$config" "$wal_mb"
    ;;
  stop) stop "$2" "${3:-}" ;;
  restart) restart "$2" ;;
  *) usage ;;
esac
