# Sourced by the benchmarks: installs what idsync needs, builds it, and sets
# root (the project), build_dir and bin (its programs). IDSYNC_BUILD_DIR
# names another build folder (absolute, or relative to the project).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
build_dir="${IDSYNC_BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/src/exe"
