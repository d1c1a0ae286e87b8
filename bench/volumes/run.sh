#!/usr/bin/env bash
# Runs the volumes benchmark (fio over NBD: Strata vs qemu-nbd vs nbdkit, and
# the local disk and nbd-null (nbdkit null: the NBD client limit), in a cached
# and a durable mode; snapshot and clone creation times; ext4 and pgbench -i
# on a Strata volume through nbdfuse and a loop device). Called by
# `make bench-volumes`; extra arguments go to the benchmark, e.g.
# bench/volumes/run.sh --size 2G --runtime 30 --modes durable --systems
# local,strata,nbd-null, or --no-fs to skip the file system part (which needs
# root, nbdfuse, losetup, mkfs.ext4 and PostgreSQL 15; the benchmark checks
# those itself and names the package of a missing one).
# Env: STRATA_BIN (default build/strata).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
strata_bin="${STRATA_BIN:-$repo/build/strata}"

for tool in fio qemu-nbd nbdkit; do
  command -v "$tool" >/dev/null || {
    echo "run.sh: $tool is missing; run scripts/install-deps.sh --bench" >&2
    exit 1
  }
done
if ! fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*nbd'; then
  echo "run.sh: this fio has no nbd engine (Debian's fio 3.33 has it)" >&2
  exit 1
fi
# exec: interrupts reach the benchmark directly, which stops its servers.
exec /usr/bin/python3 "$repo/bench/volumes/bench_volumes.py" --strata-bin "$strata_bin" "$@"
