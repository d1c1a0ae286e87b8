#!/usr/bin/python3
"""Volumes benchmark: fio against the local disk, qemu-nbd, nbdkit and Strata.

Run through bench/volumes/run.sh (or `make bench-volumes`); see
bench/README.md for what is measured and how to read the output.
"""

import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))  # bench_*.py, shared by the benchmarks

import bench_run  # noqa: E402
from bench_procs import BenchError, log_tail, tool_version  # noqa: E402
from bench_run import positive  # noqa: E402
import fio  # noqa: E402
import report  # noqa: E402
import snapshots  # noqa: E402
import systems  # noqa: E402

TIMED_SLACK_S = 90
FILL_MIN_BYTES_PER_S = 2e6
SPACE_SLACK_BYTES = 2 * fio.GIB
SIZE_UNITS = {"": 1, "K": fio.KIB, "M": fio.MIB, "G": fio.GIB, "T": 1024 * fio.GIB}


def parse_size(text):
    """'1G', '512M', '1GiB', '1073741824' -> bytes (K/M/G/T are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; use e.g. 1G or 512M")
    value = int(m.group(1)) * SIZE_UNITS[m.group(2).upper()]
    if value < fio.MIB:
        raise argparse.ArgumentTypeError(f"{text!r} is below 1 MiB")
    return value


def parse_systems(text):
    return bench_run.parse_systems(text, systems.ORDER)


def parse_args(argv):
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    p = argparse.ArgumentParser(
        prog="bench/volumes/run.sh",
        description="fio over NBD: Strata vs qemu-nbd vs nbdkit, and the local disk; "
                    "snapshot and clone creation times.")
    p.add_argument("--size", metavar="SIZE", type=parse_size, default=parse_size("1G"), dest="size_bytes",
                   help="test file / volume size, same for every system (default 1G)")
    p.add_argument("--runtime", metavar="SECONDS", type=positive, default=20, dest="runtime_s",
                   help="seconds per fio workload, after the ramp (default 20)")
    p.add_argument("--ramp", metavar="SECONDS", type=int, default=2, dest="ramp_s",
                   help="seconds of each workload not counted (default 2)")
    p.add_argument("--iodepth", metavar="N", type=positive, default=32, help="fio iodepth (default 32)")
    p.add_argument("--numjobs", metavar="N", type=positive, default=1,
                   help="fio jobs, one NBD connection each (default 1)")
    p.add_argument("--fsync", metavar="N", type=int, default=0, dest="fsync_every",
                   help="fio fsync=N on write workloads: a FLUSH after every N writes "
                        "(default 0: none)")
    p.add_argument("--systems", metavar="LIST", type=parse_systems, default=list(systems.ORDER),
                   help=f"comma-separated subset of {','.join(systems.ORDER)} (default all)")
    p.add_argument("--keep", action="store_true", help="keep the work dir and its files")
    p.add_argument("--work-dir", metavar="DIR", default=os.environ.get("TMPDIR", "/tmp"),
                   help="parent of the temp work dir; the local-disk figures measure its "
                        "filesystem (default $TMPDIR or /tmp)")
    p.add_argument("--strata-bin", metavar="PATH", help="strata binary (default build/strata)", default=os.path.join(repo, "build", "strata"))
    p.add_argument("--strata-args", metavar="FLAGS", default="",
                   help="extra flags for `strata server`, e.g. \"--log-level warn\"")
    p.add_argument("--nbdkit-cache", choices=("none", "default"), default="none",
                   help="nbdkit file plugin cache= (default none: keep the page cache out)")
    p.add_argument("--snap-repeats", metavar="N", type=positive, default=7,
                   help="snapshots and clones timed per volume size (default 7)")
    p.add_argument("--snap-scatter-ios", metavar="N", type=int, default=16384,
                   help="random 4 KiB writes into each snapshot volume first (default 16384)")
    p.add_argument("--no-snapshots", action="store_true",
                   help="skip the snapshot and clone timings")
    p.add_argument("--json", metavar="FILE", dest="json_path", help="also write all figures to this file")
    return p.parse_args(argv)


class Context:
    def __init__(self, opts, work_dir, children):
        self.opts = opts
        self.work_dir = work_dir
        self.children = children
        self.write_amplification = {}  # workload label -> (disk bytes, map bytes) per client byte, Strata only

    def shape(self):
        o = self.opts
        return fio.JobShape(o.size_bytes, o.runtime_s, o.ramp_s, o.iodepth, o.numjobs,
                            o.fsync_every)


def machine_info(work_dir):
    return dict(bench_run.machine_info(work_dir),
                fio=tool_version(["fio", "--version"]),
                qemu_nbd=tool_version(["qemu-nbd", "--version"]),
                nbdkit=tool_version(["nbdkit", "--version"]))


def check_space(opts, work_dir):
    nbd_peers = sum(1 for s in opts.systems if s != "strata")
    need = opts.size_bytes * (nbd_peers if opts.keep else min(nbd_peers, 1))
    if "strata" in opts.systems:
        need += opts.size_bytes + (0 if opts.no_snapshots else fio.GIB)
    need += SPACE_SLACK_BYTES
    bench_run.check_space(work_dir, need, lambda b: f"{b / fio.GIB:.1f} GiB", "the run",
                          "use a smaller --size or another --work-dir")


def run_fio(ctx, system, name, argv, log_path, reads, timeout_s):
    status = ctx.children.run(f"fio {name}", argv, log_path, timeout_s)
    if isinstance(system, systems.Strata):
        system.check_alive()
    out_path = next(a.split("=", 1)[1] for a in argv if a.startswith("--output="))
    if status != 0:
        raise BenchError(f"fio {name} against {system.name} failed (status {status}):\n"
                         f"{log_tail(log_path)}")
    try:
        with open(out_path) as f:
            return fio.parse_output(f.read(), reads)
    except (OSError, ValueError, KeyError) as e:
        raise BenchError(f"fio {name} against {system.name}: {e}; see {out_path}") from e


def note_amplification(ctx, system, label, before):
    """Records Strata's disk and map bytes per client byte written since `before`."""
    if before is None:
        return None
    after = system.admin.usage()
    client = after["client_write_bytes"] - before["client_write_bytes"]
    if client > 0:
        disk = (after["disk_write_bytes"] - before["disk_write_bytes"]) / client
        journal = (after["map_write_bytes"] - before["map_write_bytes"]) / client
        ctx.write_amplification[label] = (disk, journal)
    return after


def run_system(ctx, system, results, timings):
    target = system.start()
    print(f"{system.name}: {system.describe()}", flush=True)
    o = ctx.opts
    fill_timeout = max(120.0, o.size_bytes / FILL_MIN_BYTES_PER_S)
    out = os.path.join(system.dir, "fill.json")
    usage = system.admin.usage() if isinstance(system, systems.Strata) else None
    r = run_fio(ctx, system, "fill", fio.fill_args(target, o.size_bytes, o.iodepth, out),
                os.path.join(system.dir, "fill.log"), False, fill_timeout)
    usage = note_amplification(ctx, system, "1 MiB fill", usage)
    print(f"  fill: {o.size_bytes / fio.MIB:.0f} MiB at {r.bytes_per_s / 1e6:.0f} MB/s",
          flush=True)
    by_key = {w.key: w for w in fio.WORKLOADS}
    per = results.setdefault(system.name, {})
    for key in fio.RUN_ORDER:
        w = by_key[key]
        out = os.path.join(system.dir, f"{key}.json")
        argv = fio.timed_args(target, w, ctx.shape(), out)
        r = run_fio(ctx, system, key, argv, os.path.join(system.dir, f"{key}.log"), w.reads,
                    o.runtime_s + o.ramp_s + TIMED_SLACK_S)
        per[key] = r
        usage = note_amplification(ctx, system, w.label, usage)
        print(f"  {w.label:<13} {r.iops:>9.0f} IOPS {r.bytes_per_s / 1e6:>8.1f} MB/s "
              f"p99 {r.p99_ms:.2f} ms", flush=True)
    if isinstance(system, systems.Strata) and not o.no_snapshots:
        timings.extend(snapshots.measure(ctx, system))


def print_amplification(amplification):
    if not amplification:
        return
    print()
    print("strata write amplification (bytes written to layer files and map journals per byte clients wrote):")
    for label, (disk, journal) in amplification.items():
        print(f"  {label:<13} data {disk:.3f}x  map {journal:.4f}x  total {disk + journal:.3f}x")


def print_report(opts, machine, results, failures, timings, amplification=None):
    print()
    print("== volumes bench: fio over NBD ==")
    print(f"size {opts.size_bytes / fio.GIB:g} GiB, runtime {opts.runtime_s} s "
          f"(+{opts.ramp_s} s ramp), iodepth {opts.iodepth}, numjobs {opts.numjobs}, "
          f"fsync every {opts.fsync_every or 'never'}; reads after a full fill")
    print(bench_run.machine_line(machine))
    print(f"tools: {machine['fio']}; {machine['qemu_nbd']}; {machine['nbdkit']}")
    print("machine limit: the 'local' rows are the disk itself (fio, O_DIRECT, same filesystem)")
    nbdkit_cache = ("evicts after each request (cache=none)" if opts.nbdkit_cache == "none"
                    else "keeps data in it (cache=default)")
    print(f"page cache: local and qemu-nbd bypass it (O_DIRECT); nbdkit {nbdkit_cache}; "
          f"strata uses its own buffered I/O path (see bench/README.md)")
    print()
    print(report.results_table(results, opts.systems, failures))
    ratios = report.ratio_table(results, opts.systems)
    if ratios:
        print()
        print(ratios)
    verdicts = report.fio_verdicts(results, opts.systems)
    print_amplification(amplification)
    if timings:
        print()
        print("snapshot and clone creation (client wall time of one POST, new connection):")
        print(report.snapshot_table(timings))
        verdicts += report.snapshot_verdicts(timings)
    if verdicts:
        print()
        print("targets (brief, volumes rows):")
        print(report.verdict_lines(verdicts))
    for name, why in failures.items():
        print(f"\n{name} FAILED: {why}", file=sys.stderr)


def main(argv):
    opts = parse_args(argv)
    results, failures, timings = {}, {}, []
    with bench_run.Run(opts, "volumes") as run:
        work_dir = run.work_dir
        ctx = Context(opts, work_dir, run.children)
        machine = machine_info(work_dir)
        started = time.monotonic()
        try:
            check_space(opts, work_dir)
            print(f"work dir {work_dir}", flush=True)
            for name in opts.systems:
                system = systems.SYSTEMS[name](ctx)
                try:
                    run_system(ctx, system, results, timings)
                except BenchError as e:
                    failures[name] = str(e)
                    print(f"{name}: FAILED: {str(e).splitlines()[0]}", flush=True)
                finally:
                    run.end_system(system)
        except BenchError as e:
            failures["bench"] = str(e)
    if run.interrupted:
        return 130
    print_report(opts, machine, results, failures, timings, ctx.write_amplification)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if opts.json_path:
        bench_run.write_json(opts.json_path,
                             report.to_json(results, failures, timings, machine, bench_run.settings(opts)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
