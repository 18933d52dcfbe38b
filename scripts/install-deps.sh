#!/usr/bin/env bash
# Installs the Debian 12 packages idsync builds and tests with.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libsqlite3-dev sqlite3
  libsodium-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libspdlog-dev libfmt-dev
  libldap-dev libcsv-dev
  liblua5.4-dev libexpected-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev robin-map-dev libmimalloc-dev
  postgresql libpq-dev iproute2
  python3 time bc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
