#!/usr/bin/env bash
# Builds and runs the cluster benchmark (three Strata nodes RF3 vs a
# three-server NATS JetStream cluster R3 vs one Strata node). Called by
# `make bench-cluster`; extra arguments go to the benchmark, e.g.
# bench/cluster/run.sh --records 50000 --systems strata-rf3,jetstream-r3.
# Env: STRATA_BIN (default build/strata), STRATA_BENCH_BUILD_DIR (default
# build-bench), STRATA_BENCH_JOBS (default 2).
set -euo pipefail

# Sets repo, build and strata_bin; defines bench_build.
# shellcheck source-path=SCRIPTDIR source=../streams/bench_build.sh
source "$(dirname "${BASH_SOURCE[0]}")/../streams/bench_build.sh"
bench_build strata_bench_cluster

if [ ! -x "$strata_bin" ]; then
  echo "run.sh: $strata_bin is missing (build the server first); Strata's rows will be empty" >&2
elif ! "$strata_bin" server --help 2>&1 | grep -c -- --cluster-etcd >/dev/null; then
  echo "run.sh: $strata_bin has no cluster mode (--cluster-etcd); the strata-rf3 row will fail" >&2
fi
etcd_bin="${ETCD_BIN:-$(command -v etcd || echo /usr/bin/etcd)}"
# exec: interrupts reach the benchmark directly, which stops its servers.
exec "$build/bench/cluster/strata_bench_cluster" --strata-bin "$strata_bin" --etcd-bin "$etcd_bin" "$@"
