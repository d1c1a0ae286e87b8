# shellcheck shell=bash
# Sourced by bench/streams/run.sh and bench/cluster/run.sh. Sets repo, build
# (the bench build dir) and strata_bin, and defines bench_build.
# Env: STRATA_BIN (default build/strata), STRATA_BENCH_BUILD_DIR (default
# build-bench), STRATA_BENCH_JOBS (default 2).

# shellcheck disable=SC2034  # build and strata_bin are for the script that sources this
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${STRATA_BENCH_BUILD_DIR:-$repo/build-bench}"
strata_bin="${STRATA_BIN:-$repo/build/strata}"

# bench_build TARGET: configures the bench build dir and builds TARGET there.
bench_build() {
  local jobs="${STRATA_BENCH_JOBS:-2}"
  cmake -S "$repo" -B "$build" -G Ninja -DSTRATA_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  nice cmake --build "$build" --target "$1" -j"$jobs"
}
