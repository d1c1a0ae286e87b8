#!/usr/bin/env bash
# Runs the tables benchmark (TPC-H-shaped data, the 22 queries, COPY load
# and freshness: Strata vs PostgreSQL 15 vs DuckDB native tables). Called by
# `make bench-tables`; extra arguments go to the benchmark, e.g.
# bench/tables/run.sh --scale 0.01 --systems strata,postgres,duckdb.
# Env: STRATA_BIN (default build/strata), STRATA_BENCH_TOOLS_DIR (default
# build-btab/tools: where the generator and the DuckDB runner are built).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/bench/tables"
tools="${STRATA_BENCH_TOOLS_DIR:-$repo/build-btab/tools}"
strata_bin="${STRATA_BIN:-$repo/build/strata}"
duckdb="$repo/.deps/duckdb"

if [ ! -f "$duckdb/lib/libduckdb.so" ]; then
  bash "$repo/scripts/fetch-duckdb.sh"
fi
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || {
  echo "run.sh: python3-psycopg is missing; run scripts/install-deps.sh --bench" >&2
  exit 1
}

# Two small tools, built with one g++ line each (seconds), only when stale.
mkdir -p "$tools"
cxx=(g++ -std=c++20 -O2 -Wall -Wextra -Werror)
if [ ! -x "$tools/tpch_gen" ] || [ "$here/tpch_gen.cc" -nt "$tools/tpch_gen" ]; then
  nice "${cxx[@]}" -o "$tools/tpch_gen" "$here/tpch_gen.cc"
fi
if [ ! -x "$tools/duckdb_native" ] || [ "$here/duckdb_native.cc" -nt "$tools/duckdb_native" ]; then
  nice "${cxx[@]}" -I"$duckdb/include" -o "$tools/duckdb_native" "$here/duckdb_native.cc" \
    -L"$duckdb/lib" -lduckdb -Wl,-rpath,"$duckdb/lib"
fi

if [ ! -x "$strata_bin" ]; then
  echo "run.sh: $strata_bin is missing (build the server first); Strata's row will fail" >&2
fi
# exec: interrupts reach the benchmark directly, which stops its servers.
exec /usr/bin/python3 "$here/bench_tables.py" --strata-bin "$strata_bin" --tools-dir "$tools" "$@"
