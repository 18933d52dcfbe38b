#!/usr/bin/env bash
# Activation benchmark: how long `idsync-activate` takes to make a standby
# the active server (every check, the epoch switch, the key set installed),
# with no prompts. Two servers share one SQLite database; the standby is
# activated, then the first server is activated back, ROUNDS times each.
# Prints the wall time of each activation (the program's own figure, which
# leaves out prompts, and the whole process) and the slowest.
#
#   bench/activate.sh [ROUNDS] [WORKDIR]     (default 5 rounds, a new temp folder)
#   IDSYNC_BUILD_DIR=DIR bench/activate.sh   uses another build folder (default build/)
set -euo pipefail
rounds="${1:-5}"
work="${2:-$(mktemp -d /tmp/idsync-activate-XXXXXX)}"
source "$(dirname "$0")/prepare.sh"
mkdir -p "$work"
rm -rf "$work/a" "$work/b" "$work/idsync.db"* "$work/keys.bin"
password="bench-Password-1"
account='BENCH\svc'
echo "$password" | "$bin/idsync-setup" install --home "$work/a" --db "sqlite:$work/idsync.db" --server a \
  --service-account "$account" --service-password-stdin --admins-group domain:Admins --api 127.0.0.1:0 >/dev/null
echo "$password" | "$bin/idsync-kmu" --home "$work/a" export "$work/keys.bin" "$account" - >/dev/null
echo "$password" | "$bin/idsync-setup" install --home "$work/b" --db "sqlite:$work/idsync.db" --server b \
  --service-account "$account" --service-password-stdin --keys "$work/keys.bin" --standby --api 127.0.0.1:0 >/dev/null

slowest=0
echo "| round | server | reported by idsync-activate | whole process |"
echo "|---|---|---|---|"
for ((i = 1; i <= rounds; i++)); do
  for server in b a; do
    t0=$(date +%s.%N)
    out=$(echo "$password" | "$bin/idsync-activate" --home "$work/$server" "$work/keys.bin" "$account" - /q)
    t1=$(date +%s.%N)
    whole=$(echo "$t1 - $t0" | bc -l)
    reported=$(echo "$out" | sed -n 's/.*activation took \([0-9.]*\) s.*/\1/p')
    printf "| %d | %s | %s s | %.2f s |\n" "$i" "$server" "$reported" "$whole"
    if (( $(echo "$whole > $slowest" | bc -l) )); then slowest=$whole; fi
  done
done
printf "slowest activation (whole process): %.2f s\n" "$slowest"
echo "(work folder: $work)"
