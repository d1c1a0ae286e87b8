#!/usr/bin/env bash
# Builds and runs the streams benchmark (Strata vs NATS JetStream vs Redis
# Streams). Called by `make bench-streams`; extra arguments go to the
# benchmark, e.g. bench/streams/run.sh --records 50000 --window 256.
# Env: STRATA_BIN (default build/strata), STRATA_BENCH_BUILD_DIR (default
# build-bench), STRATA_BENCH_JOBS (default 2).
set -euo pipefail

# Sets repo, build and strata_bin; defines bench_build.
# shellcheck source-path=SCRIPTDIR source=bench_build.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_build.sh"
bench_build strata_bench_streams

if [ ! -x "$strata_bin" ]; then
  echo "run.sh: $strata_bin is missing (build the server first); Strata's row will be empty" >&2
fi
# exec: interrupts reach the benchmark directly, which stops its servers.
exec "$build/bench/streams/strata_bench_streams" --strata-bin "$strata_bin" "$@"
