"""OLTP benchmark: pgbench from Debian's postgresql-client-15, unchanged,
against Strata and PostgreSQL 15 on the same machine in one run.

For each system: `pgbench -i -s SCALE` (its default steps), then the
select-only (-S) and the tpcb-like scripts for SECONDS each with CLIENTS
clients. Both systems make every commit durable before answering
(PostgreSQL: fsync=on, synchronous_commit=on; Strata: its commit fsyncs the
bucket logs). Prints TPS, p99 latency (from pgbench's per-transaction log),
failed transactions and Strata/PostgreSQL ratios against the targets, and the
machine's own fsync rate (one 4 KiB write + fdatasync at a time), which
bounds what a single committing client can reach on this disk.

    usage: bench/oltp/run.sh [--scale 10] [--clients 8] [--seconds 60]
                             [--systems strata,postgres] [--work-dir DIR] [--keep] [--json FILE]
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tables"))

import pgclient  # noqa: E402
from bench_procs import BenchError  # noqa: E402
from bench_servers import PG_USER, start_postgres, start_strata  # noqa: E402
from bench_run import Run, machine_info, machine_line, parse_systems, positive, write_json  # noqa: E402

STRATA_USER = "strata"
PGBENCH = "/usr/bin/pgbench"
SCRIPTS = (("select-only", ["-S"]), ("tpcb-like", []))
TARGETS = {"select-only": 1.0, "tpcb-like": 0.5}  # Strata TPS / PostgreSQL TPS (issue 10)
PG_SETTINGS = (("fsync", "on"), ("synchronous_commit", "on"), ("shared_buffers", "1GB"),
               ("max_connections", "100"), ("listen_addresses", "127.0.0.1"))
FSYNC_PROBE_S = 2.0


def fsync_rate(work_dir):
    """fdatasyncs per second of one 4 KiB write each: the disk's commit limit."""
    path = os.path.join(work_dir, "fsync-probe")
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        count, start = 0, time.monotonic()
        while time.monotonic() - start < FSYNC_PROBE_S:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            count += 1
        return count / (time.monotonic() - start)
    finally:
        os.close(fd)
        os.unlink(path)


class Server:
    """One system under test: started by bench_servers, stopped through the run's children."""

    def __init__(self, name, user, run, opts):
        self.name, self.user, self.run, self.opts = name, user, run, opts
        self.dir = os.path.join(run.work_dir, name)
        self.child, self.port = None, None

    def start(self):
        ready = lambda port: pgclient.can_connect(port, self.user, self.user)  # noqa: E731
        if self.name == "strata":
            self.child, self.port = start_strata(self.run.children, self.opts.strata_bin, self.dir, ready)
        else:
            self.child, self.port = start_postgres(self.run.children, self.run.work_dir, self.dir, PG_SETTINGS, ready)

    def stop(self):
        if self.child is not None:
            self.run.children.stop(self.child)
            self.child = None


def pgbench(system, run, args, label, timeout_s):
    """Runs pgbench against `system`; returns its output (stdout and stderr)."""
    out_path = os.path.join(run.work_dir, f"{system.name}-{label}.out")
    argv = [PGBENCH, "-h", "127.0.0.1", "-p", str(system.port), "-U", system.user, *args, system.user]
    status = run.children.run(f"pgbench {label}", argv, out_path, timeout_s)
    with open(out_path) as f:
        out = f.read()
    if status != 0:
        raise BenchError(f"pgbench {label} on {system.name} failed ({status}):\n{out[-3000:]}")
    return out


def p99_ms(log_dir, prefix):
    """The 99th percentile of pgbench's per-transaction latencies (field 3, microseconds)."""
    latencies = []
    for name in os.listdir(log_dir):
        if name.startswith(prefix):
            with open(os.path.join(log_dir, name)) as f:
                latencies += [int(line.split()[2]) for line in f if line.strip()]
    if not latencies:
        return float("nan")
    latencies.sort()
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1000.0


def run_system(system, run, opts):
    print(f"== {system.name}", flush=True)
    system.start()
    started = time.monotonic()
    pgbench(system, run, ["-i", "-s", str(opts.scale)], "init", 3600)
    result = {"init_s": round(time.monotonic() - started, 1)}
    print(f"  pgbench -i -s {opts.scale}: {result['init_s']} s", flush=True)
    for label, flags in SCRIPTS:
        log_dir = os.path.join(run.work_dir, f"{system.name}-{label}-log")
        os.makedirs(log_dir)
        out = pgbench(system, run, [*flags, "-c", str(opts.clients), "-j", str(min(opts.clients, 2)),
                                    "-T", str(opts.seconds), "-l", f"--log-prefix={log_dir}/tx"],
                      label, opts.seconds * 3 + 120)
        tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))
        failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
        result[label] = {"tps": tps, "p99_ms": p99_ms(log_dir, "tx"), "failed": failed}
        print(f"  {label:<12} {tps:>10.1f} tps  p99 {result[label]['p99_ms']:>8.2f} ms  failed {failed}", flush=True)
    system.stop()
    return result


def report(results, machine, fsyncs_per_s, opts):
    print()
    print(machine_line(machine))
    print(f"disk: {fsyncs_per_s:,.0f} fdatasyncs/s (4 KiB each, one at a time): the durable-commit limit of one client")
    print(f"pgbench -s {opts.scale}, {opts.clients} clients, {opts.seconds} s per script; every commit durable")
    print(f"{'script':<12} {'system':<9} {'tps':>10} {'p99 ms':>9} {'failed':>7}")
    for label, _ in SCRIPTS:
        for name, r in results.items():
            if label in r:
                x = r[label]
                print(f"{label:<12} {name:<9} {x['tps']:>10.1f} {x['p99_ms']:>9.2f} {x['failed']:>7}")
    if "strata" in results and "postgres" in results:
        for label, _ in SCRIPTS:
            s, p = results["strata"].get(label), results["postgres"].get(label)
            if not s or not p or p["tps"] <= 0:
                continue
            ratio = s["tps"] / p["tps"]
            verdict = "met" if ratio >= TARGETS[label] else "missed"
            print(f"ratio {label:<12} strata/postgres {ratio:.2f}x (target >= {TARGETS[label]}x: {verdict}); "
                  f"p99 {s['p99_ms'] / p['p99_ms']:.2f}x")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=positive, default=10)
    p.add_argument("--clients", type=positive, default=8)
    p.add_argument("--seconds", type=positive, default=60)
    p.add_argument("--systems", default="strata,postgres")
    p.add_argument("--strata-bin", default=os.environ.get("STRATA_BIN", "build/strata"))
    p.add_argument("--work-dir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--keep", action="store_true")
    p.add_argument("--json", default=None)
    opts = p.parse_args(argv)
    systems = parse_systems(opts.systems, ["strata", "postgres"])
    results = {}
    with Run(opts, "oltp") as run:
        machine = machine_info(run.work_dir)
        fsyncs = fsync_rate(run.work_dir)
        for name in systems:
            system = Server(name, STRATA_USER if name == "strata" else PG_USER, run, opts)
            try:
                results[name] = run_system(system, run, opts)
            except BenchError as e:
                print(f"  {name} failed: {e}", flush=True)
                system.stop()
        report(results, machine, fsyncs, opts)
        if opts.json:
            write_json(opts.json, {"machine": machine, "fsyncs_per_s": fsyncs, "results": results})
    if run.interrupted:
        return 130
    return 0 if len(results) == len(systems) else 1


if __name__ == "__main__":
    sys.exit(main())
