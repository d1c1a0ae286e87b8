#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/fuzz for SECONDS each, seeded
# from tests/fuzz/corpus/<target without the fuzz_ prefix>/. New inputs go to a
# scratch corpus in BUILD_DIR (the checked-in seeds stay as they are); crash
# inputs land in BUILD_DIR/fuzz/artifacts/. Exits non-zero if any target
# crashed, leaked, timed out, or if no target was found.
#   usage: scripts/run-fuzzers.sh BUILD_DIR [SECONDS]
set -uo pipefail
build_dir=${1:?usage: $0 BUILD_DIR [SECONDS]}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac

shopt -s nullglob
fuzzers=()
for f in "$build_dir"/fuzz/fuzz_*; do
  [ -f "$f" ] && [ -x "$f" ] && fuzzers+=("$f")
done
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "no fuzz targets in $build_dir/fuzz; build them with: make fuzz (or cmake --build $build_dir --target fuzz_targets)" >&2
  exit 1
fi

mkdir -p "$build_dir/fuzz/artifacts" "$build_dir/fuzz/logs"
failed=()
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  seeds=$root/tests/fuzz/corpus/${name#fuzz_}
  scratch=$build_dir/fuzz/corpus/$name
  mkdir -p "$scratch"
  corpora=("$scratch")
  [ -d "$seeds" ] && corpora+=("$seeds")
  echo "== $name: ${seconds}s, seeds from ${seeds#$root/} =="
  "$fuzzer" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build_dir/fuzz/artifacts/$name-" "${corpora[@]}" \
    >"$build_dir/fuzz/logs/$name.log" 2>&1
  rc=$?
  tail -n 15 "$build_dir/fuzz/logs/$name.log"
  if [ $rc -ne 0 ]; then
    echo "!! $name failed (exit $rc); full log: $build_dir/fuzz/logs/$name.log; inputs: $build_dir/fuzz/artifacts/" >&2
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzers failed: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#fuzzers[@]} fuzzers ran ${seconds}s without a crash"
