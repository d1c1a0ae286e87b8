#!/usr/bin/env bash
# Runs the clones benchmark: a writable copy of a PostgreSQL database that
# accepts connections, from Strata vs pg_basebackup + start vs cp -a + start;
# reset time, idle clone disk, and many clones at once. Called by
# `make bench-clones`; extra arguments go to the benchmark, e.g.
# bench/clones/run.sh --scales "10 70" --repeats 3.
# Env: STRATA_BIN (default build/strata); BENCH_CLONES_SCALES (pgbench
# scales, default "70 700": about 1 and 10 GiB).
# Needs root (a loop-mounted btrfs pool; postgres runs as the user postgres).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
strata_bin="${STRATA_BIN:-$repo/build/strata}"

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: run as root (the clone pool is a loop-mounted btrfs image)" >&2
  exit 1
fi
for tool in /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/pg_basebackup \
            /usr/lib/postgresql/15/bin/pgbench; do
  [ -x "$tool" ] || { echo "run.sh: $tool is missing; apt-get install postgresql-15" >&2; exit 1; }
done
for tool in mkfs.btrfs btrfs losetup setpriv; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (btrfs-progs, util-linux)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || {
  echo "run.sh: python3-psycopg is missing; run scripts/install-deps.sh --bench" >&2
  exit 1
}
if [ ! -x "$strata_bin" ]; then
  echo "run.sh: $strata_bin is missing (build the server first); Strata's rows will fail" >&2
fi
# exec: interrupts reach the benchmark directly, which stops its servers.
exec /usr/bin/python3 "$repo/bench/clones/bench_clones.py" --strata-bin "$strata_bin" "$@"
