#!/usr/bin/env bash
# A full sync in which every person fails: N people (bench/gen_people.cc)
# with the benchmark's configuration, except that the directory's
# provisioning DN template gives nothing (every person is an object error)
# and hr's error limit is out of reach, so the run goes through. Measures
# what the sync costs per failing object (the re-read after each failure).
#
#   bench/failing.sh [N] [WORKDIR]    (default N=20000, WORKDIR a new temp folder)
set -euo pipefail
n="${1:-20000}"
work="${2:-$(mktemp -d /tmp/idsync-failing-XXXXXX)}"
source "$(dirname "$0")/prepare.sh"
source "$root/bench/scenario.sh"
mkdir -p "$work/cfg/data" "$work/cfg/out"
rm -rf "$work/idsync.db"* "$work/home" "$work/cfg/out/"*
"$build_dir/bench/idsync-bench-gen" "$n" "$work/cfg/data" >/dev/null
sed -e '/^\[ma\.hr\]$/a error_limit = 100000000' \
    -e "s|^dn = '\"uid=\" & uid & \",ou=people,dc=example,dc=com\"'\$|dn = 'left(uid, 0)'|" \
    "$root/bench/config/idsync.toml" >"$work/cfg/idsync.toml"
grep -q "^dn = 'left(uid, 0)'" "$work/cfg/idsync.toml" ||
  { echo "bench: the directory's DN template was not found in bench/config/idsync.toml" >&2; exit 1; }
install_scenario "sqlite:$work/idsync.db"
"$bin/idsync" run hr full-import >/dev/null
status=0
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin/idsync" run hr full-sync >"$work/sync.out" 2>&1 || status=$?
grep -E "^ *(errors|processed) " "$work/sync.out" || true
read -r wall user sys rss < <(tail -1 "$work/time")
echo "full sync with every person failing, $n people: ${wall} s wall, ${user} s user, ${sys} s system, $((rss / 1024)) MiB (exit $status)"
echo "(work folder: $work)"
