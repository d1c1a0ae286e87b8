#!/usr/bin/python3
"""Tables benchmark: TPC-H-shaped data and the 22 queries on Strata,
PostgreSQL 15 and DuckDB native tables; COPY load rates; freshness.

Run through bench/tables/run.sh (or `make bench-tables`); see
bench/tables/README.md for what is measured and how to read the output.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))  # bench_*.py, shared by the benchmarks

import bench_run  # noqa: E402
from bench_procs import BenchError  # noqa: E402
import report  # noqa: E402
import schema  # noqa: E402
import systems  # noqa: E402

QUERY_DIR = os.path.join(HERE, "queries")
ALL_QUERIES = tuple(f"q{i:02d}" for i in range(1, 23))
# Generated text per scale factor unit, plus the systems' copies, for the free-space check.
DATA_BYTES_PER_SF = 1.1e9
GEN_TIMEOUT_S = 3600
# Bumped whenever tpch_gen's output changes, so --data-dir never reuses stale files.
GEN_VERSION = 2


def parse_systems(text):
    return bench_run.parse_systems(text, report.SYSTEM_ORDER)


def parse_queries(text):
    """'1,6,q14' -> ['q01', 'q06', 'q14']; 'all' -> all 22."""
    if text.strip() == "all":
        return list(ALL_QUERIES)
    out = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*q?(\d{1,2})\s*", part, re.IGNORECASE)
        if not m or not 1 <= int(m.group(1)) <= 22:
            raise argparse.ArgumentTypeError(f"{part!r} is not a query number 1..22")
        name = f"q{int(m.group(1)):02d}"
        if name not in out:
            out.append(name)
    return sorted(out)


def parse_scale(text):
    value = float(text)
    if not 0.001 <= value <= 100:
        raise argparse.ArgumentTypeError("--scale must be between 0.001 and 100")
    return value


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def parse_args(argv):
    repo = os.path.abspath(os.path.join(HERE, "..", ".."))
    p = argparse.ArgumentParser(
        prog="bench/tables/run.sh",
        description="TPC-H-shaped queries, COPY load and freshness: Strata vs PostgreSQL 15 vs "
                    "DuckDB native tables.")
    p.add_argument("--scale", type=parse_scale, default=1.0, help="scale factor (default 1)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--systems", type=parse_systems, default=list(report.SYSTEM_ORDER),
                   help="comma-separated subset of strata,postgres,duckdb (default all)")
    p.add_argument("--queries", type=parse_queries, default=list(ALL_QUERIES),
                   help="comma-separated query numbers, e.g. 1,6,14 (default all 22)")
    p.add_argument("--hot-runs", type=non_negative, default=3,
                   help="hot runs per query after the cold one; the median is reported (default 3)")
    p.add_argument("--query-timeout", type=float, default=600.0, dest="query_timeout_s",
                   help="seconds before a query is cancelled and counted as failed (default 600)")
    p.add_argument("--freshness-trials", type=non_negative, default=200,
                   help="INSERT-then-SELECT trials (default 200; 0 skips)")
    p.add_argument("--freshness-timeout", type=float, default=10.0, dest="freshness_timeout_s",
                   help="seconds a trial polls before it counts as timed out (default 10)")
    p.add_argument("--work-dir", default=os.environ.get("TMPDIR", "/tmp"),
                   help="parent of the temp work dir (default $TMPDIR or /tmp)")
    p.add_argument("--data-dir", help="keep the generated files here and reuse them when the scale "
                                      "and seed match (default: inside the temp work dir)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (data and server dirs)")
    p.add_argument("--strata-bin", default=os.path.join(repo, "build", "strata"),
                   help="strata binary (default build/strata)")
    p.add_argument("--strata-args", default="", help="extra flags for `strata server`")
    p.add_argument("--strata-tables", choices=("pk", "log"), default="pk",
                   help="Strata table kind: pk (primary keys as in the other systems, default) or log")
    p.add_argument("--duckdb-threads", type=non_negative, default=0,
                   help="DuckDB native threads (default 0: DuckDB's default, all cores)")
    p.add_argument("--tools-dir", default=os.path.join(repo, "build-btab", "tools"),
                   help="where run.sh built tpch_gen and duckdb_native")
    p.add_argument("--disk-test-mib", type=non_negative, default=512,
                   help="MiB for the direct sequential write test of the work dir's disk (0 skips)")
    p.add_argument("--json", dest="json_path", help="also write every figure to this file")
    opts = p.parse_args(argv)
    opts.generator = os.path.join(opts.tools_dir, "tpch_gen")
    opts.duckdb_runner = os.path.join(opts.tools_dir, "duckdb_native")
    return opts


class Context:
    def __init__(self, opts, work_dir, data_dir, children):
        self.opts = opts
        self.work_dir = work_dir
        self.data_dir = data_dir
        self.children = children
        self.query_paths = [(q, os.path.join(QUERY_DIR, f"{q}.sql")) for q in opts.queries]
        self.queries = []
        self.manifest = None
        for name, path in self.query_paths:
            with open(path) as f:
                self.queries.append((name, f.read()))

    def data_file(self, table):
        return os.path.join(self.data_dir, f"{table}.tsv")


# ---- data ----

def generate(ctx):
    """Runs tpch_gen unless data_dir already holds this scale and seed."""
    o = ctx.opts
    manifest_path = os.path.join(ctx.data_dir, "manifest.json")
    want = {"scale": o.scale, "seed": o.seed, "generator_version": GEN_VERSION}
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        if {k: manifest.get(k) for k in want} == want and all(
                os.path.exists(ctx.data_file(t)) for t in schema.TABLE_NAMES):
            print(f"data: reusing {ctx.data_dir} (scale {o.scale}, seed {o.seed})", flush=True)
            return manifest
    except (OSError, ValueError):
        pass
    if not os.access(o.generator, os.X_OK):
        raise BenchError(f"{o.generator} is missing; bench/tables/run.sh builds it")
    os.makedirs(ctx.data_dir, exist_ok=True)
    out = subprocess.run([o.generator, "--scale", str(o.scale), "--seed", str(o.seed), "--out", ctx.data_dir],
                         capture_output=True, text=True, timeout=GEN_TIMEOUT_S)
    if out.returncode != 0:
        raise BenchError(f"tpch_gen failed ({out.returncode}): {out.stderr.strip()}")
    counts = json.loads(out.stdout)
    manifest = dict(want, counts={t: counts[t] for t in schema.TABLE_NAMES}, gen_seconds=counts["seconds"],
                    bytes=sum(os.path.getsize(ctx.data_file(t)) for t in schema.TABLE_NAMES))
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"data: generated {sum(manifest['counts'].values()):,} rows, {manifest['bytes'] / 1e6:.0f} MB "
          f"in {manifest['gen_seconds']:.1f} s -> {ctx.data_dir}", flush=True)
    return manifest


# ---- machine ----

def disk_write_mb_s(work_dir, mib):
    """Sequential 1 MiB direct writes plus fdatasync with dd; (MB/s, note) or (None, why)."""
    if mib <= 0:
        return None, "skipped"
    path = os.path.join(work_dir, "dd-test.bin")
    try:
        for flags, note in ((["oflag=direct"], "O_DIRECT"), ([], "buffered")):
            out = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}",
                                  "conv=fdatasync"] + flags, capture_output=True, text=True, timeout=600)
            m = re.search(r"(\d+) bytes.*copied, ([\d.]+) s", out.stderr)
            if out.returncode == 0 and m and float(m.group(2)) > 0:
                return int(m.group(1)) / float(m.group(2)) / 1e6, note
        return None, out.stderr.strip()[-200:]
    finally:
        if os.path.exists(path):
            os.remove(path)


def machine_info(work_dir, opts):
    mb_s, note = disk_write_mb_s(work_dir, opts.disk_test_mib)
    return dict(bench_run.machine_info(work_dir), disk_write_mb_s=mb_s, disk_note=note)


def check_space(opts, work_dir):
    need = DATA_BYTES_PER_SF * opts.scale * (1 + len(opts.systems)) + 1e9
    bench_run.check_space(work_dir, need, lambda b: f"{b / 1e9:.1f} GB", "the run",
                          "use a smaller --scale or another --work-dir")


# ---- report ----

def print_report(opts, machine, manifest, results, failures):
    shown = opts.systems
    print()
    print(f"== tables bench: TPC-H-shaped, scale {opts.scale:g} ==")
    print(bench_run.machine_line(machine))
    if machine["disk_write_mb_s"] is not None:
        print(f"disk: sequential 1 MiB writes + fdatasync ({machine['disk_note']}): "
              f"{machine['disk_write_mb_s']:.0f} MB/s")
    if manifest:
        print(f"data: {sum(manifest['counts'].values()):,} rows, {manifest['bytes'] / 1e6:.0f} MB of COPY text "
              f"(lineitem {manifest['counts']['lineitem']:,} rows)")
    for name in shown:
        if name in results:
            print(f"{name}: {results[name].version}")

    loads = {s: results[s].loads for s in shown if s in results}
    print()
    print("load (seconds per table; strata and postgres: COPY FROM STDIN through psycopg, acknowledged "
          "commit; duckdb: COPY FROM file, for context)")
    print(report.load_table(loads, shown, schema.TABLE_NAMES))
    for s in shown:
        if s in results and results[s].after_load:
            extra = ", ".join(f"{k} {v:.1f} s" for k, v in results[s].after_load.items())
            print(f"  {s} after the load (not in rows/s): {extra}")

    qres = {s: results[s].queries for s in shown if s in results}
    checks = {q: report.check_query({s: qres[s].get(q) for s in qres}) for q in opts.queries}
    print()
    print(f"queries: median of {opts.hot_runs} hot runs after 1 cold run, ms (client wall time, all rows fetched)")
    print(report.query_table(qres, shown, opts.queries, checks))
    ran = [s for s in shown if s in qres]
    common = report.common_queries(qres, ran)
    if common:
        print(report.geomean_line(report.geomeans(qres, ran, common), shown, len(common), len(opts.queries)))
    mismatches = {q: c for q, c in checks.items() if c[0] == "MISMATCH"}
    for q, (_, details) in mismatches.items():
        for d in details:
            print(f"!!! RESULT MISMATCH {q}: {d}")
    failed = [(s, q, r.error) for s in ran for q, r in qres[s].items() if not r.ok]
    for s, q, err in failed:
        print(f"!!! {s} {q} FAILED: {err}")

    fresh = {s: results[s].freshness for s in shown if s in results and results[s].freshness}
    if fresh:
        print()
        print("freshness: acknowledged INSERT (autocommit) on one connection until a SELECT on another "
              "sees the row (each latency includes that SELECT)")
        for s, (lat, fails) in fresh.items():
            print(report.freshness_line(s, lat, fails))
    vs = report.verdicts(qres, shown, loads, {s: f[0] for s, f in fresh.items()}, schema.TABLE_NAMES,
                         len(opts.queries))
    if vs:
        print()
        print("targets (brief, tables rows):")
        print(report.verdict_lines(vs))
    for name, why in failures.items():
        print(f"\n{name} FAILED: {why}", file=sys.stderr)
    return mismatches


def to_json(opts, machine, manifest, results, failures):
    def run_json(r):
        return {"cold_s": r.cold_s, "hot_s": r.hot_s, "error": r.error,
                "rows": None if r.rows is None else len(r.rows)}
    return {
        "settings": bench_run.settings(opts),
        "machine": machine, "data": manifest, "failures": failures,
        "systems": {s: {"version": r.version, "loads": r.loads, "after_load": r.after_load,
                        "queries": {q: run_json(x) for q, x in r.queries.items()},
                        "freshness_s": None if r.freshness is None else r.freshness[0]}
                    for s, r in results.items()},
    }


def main(argv):
    opts = parse_args(argv)
    results, failures, manifest = {}, {}, None
    with bench_run.Run(opts, "tables") as run:
        work_dir = run.work_dir
        data_dir = os.path.abspath(opts.data_dir) if opts.data_dir else os.path.join(work_dir, "data")
        ctx = Context(opts, work_dir, data_dir, run.children)
        started = time.monotonic()
        machine = machine_info(work_dir, opts)
        try:
            check_space(opts, work_dir)
            print(f"work dir {work_dir}", flush=True)
            manifest = ctx.manifest = generate(ctx)
            for name in systems.ORDER:
                if name not in opts.systems:
                    continue
                system = systems.SYSTEMS[name](ctx)
                print(f"{name}: {system.describe()}", flush=True)
                try:
                    results[name] = system.run()
                except BenchError as e:
                    failures[name] = str(e)
                    print(f"{name}: FAILED: {str(e).splitlines()[0] if str(e) else e}", flush=True)
                except Exception as e:  # noqa: BLE001 - a client library error ends this system only
                    failures[name] = f"{type(e).__name__}: {e}"
                    print(f"{name}: FAILED: {type(e).__name__}: {e}", flush=True)
                finally:
                    run.end_system(system)
        except BenchError as e:
            failures["bench"] = str(e)
    if run.interrupted:
        return 130
    mismatches = print_report(opts, machine, manifest, results, failures)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if opts.json_path:
        bench_run.write_json(opts.json_path, to_json(opts, machine, manifest, results, failures), default=str)
    return 1 if failures or mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
