#!/usr/bin/env bash
# Installs what idsync needs, builds it, and runs the demo on the embedded
# SQLite database: an HR file is synchronized into a directory (LDIF) and a
# badge system (CSV), then a day of HR changes flows through.
# Usage: scripts/demo.sh [FOLDER]   (default: a new temporary folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

demo="${1:-$(mktemp -d /tmp/idsync-demo-XXXXXX)}"
mkdir -p "$demo"
demo="$(cd "$demo" && pwd)"
if [ -e "$demo/home/server.toml" ]; then
  echo "demo: $demo already holds a demo installation; give an empty folder" >&2
  exit 2
fi
bin="$root/build/src/exe"
export IDSYNC_HOME="$demo/home"
idsync() { "$bin/idsync" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cp -r "$root/examples/demo" "$demo/config"
mkdir -p "$demo/config/out"

step "Install a server on a new SQLite database"
# The demo's service password comes from a file only root can read, never
# from the command line.
umask 077
head -c 24 /dev/urandom | base64 > "$demo/service-password"
"$bin/idsync-setup" install --home "$IDSYNC_HOME" --db "sqlite:$demo/idsync.db" \
  --service-account 'CORP\svc-idsync' --service-password-file "$demo/service-password" \
  --admins-group domain:IdsyncAdmins

step "Apply the configuration (examples/demo)"
idsync config apply "$demo/config"

step "Full cycle: import the HR file and synchronize"
idsync run hr "Full Cycle"
step "Export to the directory and the badge system"
idsync run directory export
idsync run badges export
step "The directory change feed ($demo/config/out/directory.ldif), first entries"
head -n 28 "$demo/config/out/directory.ldif"
step "The badge file ($demo/config/out/badges.csv)"
cat "$demo/config/out/badges.csv"

step "A day of HR changes: a transfer, a termination, a new hire"
cp "$demo/config/data/hr-next.csv" "$demo/config/data/hr.csv"
idsync run hr "Delta Cycle"
idsync run directory export
idsync run badges export
step "What the directory receives for those changes"
awk 'BEGIN{RS=""; ORS="\n\n"} NR>1 && /changetype: (modify|delete|modrdn)/' "$demo/config/out/directory.ldif" | head -n 40 || true
step "One person with lineage (who contributed each attribute)"
idsync show cs hr 1002
step "Run history"
idsync history

step "Warm standby: back up the key set, add a standby server, activate it"
"$bin/idsync-kmu" export "$demo/idsync-keys.bin" 'CORP\svc-idsync' - < "$demo/service-password"
"$bin/idsync-setup" install --home "$demo/standby" --db "sqlite:$demo/idsync.db" --server standby \
  --service-account 'CORP\svc-idsync' --service-password-file "$demo/service-password" \
  --keys "$demo/idsync-keys.bin" --standby --api 127.0.0.1:8096
IDSYNC_HOME="$demo/standby" idsync run hr "Delta Cycle" || true   # a standby refuses work
"$bin/idsync-activate" --home "$demo/standby" "$demo/idsync-keys.bin" 'CORP\svc-idsync' - /q \
  < "$demo/service-password"
IDSYNC_HOME="$demo/standby" idsync run hr "Delta Cycle"
idsync status

printf '\nThe demo installation is in %s (IDSYNC_HOME=%s).\n' "$demo" "$IDSYNC_HOME"
