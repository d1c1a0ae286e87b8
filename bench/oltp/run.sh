#!/usr/bin/env bash
# Runs the OLTP benchmark (pgbench select-only and tpcb-like against Strata and
# PostgreSQL 15, same durability). Called by `make bench-oltp`; extra
# arguments go to the benchmark, e.g. bench/oltp/run.sh --scale 1 --seconds 10.
# Env: STRATA_BIN (default build/strata).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
strata_bin="${STRATA_BIN:-$repo/build/strata}"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || {
  echo "run.sh: python3-psycopg is missing; run scripts/install-deps.sh --bench" >&2
  exit 1
}
command -v pgbench >/dev/null || {
  echo "run.sh: pgbench is missing (postgresql-client-15); run scripts/install-deps.sh --bench" >&2
  exit 1
}
# exec: interrupts reach the benchmark directly, which stops its servers.
exec /usr/bin/python3 "$repo/bench/oltp/bench_oltp.py" --strata-bin "$strata_bin" "$@"
