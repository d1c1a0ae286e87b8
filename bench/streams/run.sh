#!/usr/bin/env bash
# Builds and runs the streams benchmark (Strata vs NATS JetStream vs Redis
# Streams). Called by `make bench-streams`; extra arguments go to the
# benchmark, e.g. bench/streams/run.sh --records 50000 --window 256.
# Env: STRATA_BIN (default build/strata), STRATA_BENCH_BUILD_DIR (default
# build-bench), STRATA_BENCH_JOBS (default 2).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${STRATA_BENCH_BUILD_DIR:-$repo/build-bench}"
jobs="${STRATA_BENCH_JOBS:-2}"
strata_bin="${STRATA_BIN:-$repo/build/strata}"

cmake -S "$repo" -B "$build" -G Ninja -DSTRATA_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
nice cmake --build "$build" --target strata_bench_streams -j"$jobs"

if [ ! -x "$strata_bin" ]; then
  echo "run.sh: $strata_bin is missing (build the server first); Strata's row will be empty" >&2
fi
# exec: interrupts reach the benchmark directly, which stops its servers.
exec "$build/bench/streams/strata_bench_streams" --strata-bin "$strata_bin" "$@"
