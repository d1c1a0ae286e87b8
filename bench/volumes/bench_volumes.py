#!/usr/bin/python3
"""Volumes benchmark: fio against the local disk, qemu-nbd, nbdkit and Strata,
in a cached and a durable mode, with two machine limits for reference: the
local disk (fio on a file) and nbd-null (nbdkit's null plugin: the NBD client
path with no storage behind it); snapshot and clone times; ext4 and PostgreSQL
on a Strata volume (the fs workload).

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
import fs_workload  # noqa: E402
import modes  # noqa: E402
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


def parse_modes(text):
    """'durable,cached' -> ['cached', 'durable'] (the run order); unknown or none fail."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [n for n in names if n not in modes.ORDER]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown mode(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {','.join(modes.ORDER)}")
    return [m for m in modes.ORDER if m in names]


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def parse_args(argv):
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    p = argparse.ArgumentParser(
        prog="bench/volumes/run.sh",
        description="fio over NBD: Strata vs qemu-nbd vs nbdkit, and the local disk and "
                    "nbd-null (nbdkit null: the NBD client limit), in a cached and a durable "
                    "mode; snapshot and clone creation times; ext4 and pgbench -i on a Strata "
                    "volume (nbdfuse + loop).")
    p.add_argument("--size", metavar="SIZE", type=parse_size, default=parse_size("1G"), dest="size_bytes",
                   help="test file / volume size, same for every system (default 1G)")
    p.add_argument("--runtime", metavar="SECONDS", type=positive, default=20, dest="runtime_s",
                   help="seconds per fio workload, after the ramp (default 20)")
    p.add_argument("--ramp", metavar="SECONDS", type=int, default=2, dest="ramp_s",
                   help="seconds of each workload not counted (default 2)")
    p.add_argument("--iodepth", metavar="N", type=positive, default=32, help="fio iodepth (default 32)")
    p.add_argument("--numjobs", metavar="N", type=positive, default=1,
                   help="fio jobs, one NBD connection each (default 1)")
    p.add_argument("--modes", metavar="LIST", type=parse_modes, default=list(modes.ORDER),
                   help="comma-separated subset of cached,durable: the fio suite runs once per "
                        "mode (default both)")
    p.add_argument("--fsync", metavar="N", type=non_negative, default=None, dest="fsync_every",
                   help="fio fsync=N on the timed write workloads, in every mode: a FLUSH "
                        "after every N writes as fio counts them (the flush table shows how many "
                        "it sent) (default: none in the cached mode, "
                        f"{modes.DURABLE_FSYNC_EVERY} in the durable mode; 0 = none)")
    p.add_argument("--strata-durable-io", choices=("direct", "buffered"), default="direct",
                   help="strata --volume-io in the durable mode (default direct; buffered is "
                        "durable through FLUSH too, but reads may come from the page cache)")
    p.add_argument("--systems", metavar="LIST", type=parse_systems, default=list(systems.ORDER),
                   help=f"comma-separated subset of {','.join(systems.ORDER)} (default all)")
    p.add_argument("--keep", action="store_true", help="keep the work dir and its files")
    p.add_argument("--work-dir", metavar="DIR", default=os.environ.get("TMPDIR", "/tmp"),
                   help="parent of the temp work dir; the local-disk figures measure its "
                        "filesystem (default $TMPDIR or /tmp)")
    p.add_argument("--strata-bin", metavar="PATH", help="strata binary (default build/strata)", default=os.path.join(repo, "build", "strata"))
    p.add_argument("--strata-args", metavar="FLAGS", default="",
                   help="extra flags for `strata server`, e.g. \"--log-level warn\"")
    p.add_argument("--snap-repeats", metavar="N", type=positive, default=7,
                   help="snapshots and clones timed per volume size (default 7)")
    p.add_argument("--snap-scatter-ios", metavar="N", type=int, default=16384,
                   help="random 4 KiB writes into each snapshot volume first (default 16384)")
    p.add_argument("--no-snapshots", action="store_true",
                   help="skip the snapshot and clone timings")
    p.add_argument("--fs", action=argparse.BooleanOptionalAction, default=True,
                   help="the file system workload: ext4 on a Strata volume through nbdfuse and a "
                        "loop device, fio and pgbench -i on it, against the local disk and a "
                        "loop file (default on; needs root; --no-fs skips it)")
    p.add_argument("--only-fs", action="store_true",
                   help="run only the file system workload (no fio suites, no snapshots)")
    p.add_argument("--fs-size", metavar="SIZE", type=parse_size, default=parse_size("4G"),
                   dest="fs_size_bytes", help="the fs workload's volume / loop file size (default 4G)")
    p.add_argument("--fs-write-size", metavar="SIZE", type=parse_size, default=parse_size("1G"),
                   dest="fs_write_bytes", help="bytes fio writes into a file on each file system "
                                               "(default 1G)")
    p.add_argument("--pgbench-scale", metavar="N", type=positive, default=50,
                   help="pgbench -i -s N on each file system (default 50, about 750 MiB)")
    p.add_argument("--fs-strata-modes", metavar="LIST", type=parse_modes, default=["durable"],
                   help="Strata modes the fs workload runs in (row strata = durable, "
                        "strata-cached = cached; default durable)")
    p.add_argument("--json", metavar="FILE", dest="json_path", help="also write all figures to this file")
    opts = p.parse_args(argv)
    if opts.only_fs and not opts.fs:
        p.error("--only-fs and --no-fs leave nothing to run")
    if opts.fs and opts.fs_write_bytes >= opts.fs_size_bytes:
        p.error("--fs-write-size must be below --fs-size")
    return opts


def snapshot_mode(opts):
    """The snapshot and clone timings run once, on the durable mode's Strata if it runs."""
    return "durable" if "durable" in opts.modes else opts.modes[-1]


class Context:
    def __init__(self, opts, work_dir, children, at_exit=lambda stop: None):
        self.opts = opts
        self.work_dir = work_dir
        self.children = children
        self.at_exit = at_exit
        self.write_amplification = {}  # (mode, workload label) -> (disk, map bytes) per client byte, Strata only

    def shape(self, mode):
        o = self.opts
        return fio.JobShape(o.size_bytes, o.runtime_s, o.ramp_s, o.iodepth, o.numjobs,
                            mode.fsync_every(o.fsync_every))


def machine_info(work_dir):
    return dict(bench_run.machine_info(work_dir),
                fio=tool_version(["fio", "--version"]),
                qemu_nbd=tool_version(["qemu-nbd", "--version"]),
                nbdkit=tool_version(["nbdkit", "--version"]),
                nbdfuse=tool_version(["nbdfuse", "--version"]),
                postgres=tool_version([os.path.join(fs_workload.PG_BIN, "postgres"), "--version"]))


def check_space(opts, work_dir):
    """About the most the run holds on disk at once (all of it with --keep)."""
    fio_need = 0
    if not opts.only_fs:
        copies = len(opts.modes) if opts.keep else 1
        peers = sum(1 for s in opts.systems if s != "strata" and s not in systems.DISKLESS)
        fio_need = opts.size_bytes * (peers if opts.keep else min(peers, 1)) * copies
        if "strata" in opts.systems:
            fio_need += opts.size_bytes * copies + (0 if opts.no_snapshots else fio.GIB)
    fs_need = fs_workload.space_needed(opts)
    need = (fio_need + fs_need if opts.keep else max(fio_need, fs_need)) + SPACE_SLACK_BYTES
    bench_run.check_space(work_dir, need, lambda b: f"{b / fio.GIB:.1f} GiB", "the run",
                          "use a smaller --size (or --fs-size, --fs-write-size, "
                          "--pgbench-scale) or another --work-dir")


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
        ctx.write_amplification[(system.mode.name, label)] = (disk, journal)
    return after


def _flush_note(r):
    if r.flushes <= 0:
        return ""
    p99 = "-" if r.flush_p99_ms is None else f"{r.flush_p99_ms:.2f}"
    return f"; {r.flushes} flushes, mean {r.flush_mean_ms:.2f} ms p99 {p99} ms"


def _cpu_note(r):
    return "" if r.client_cpu_pct is None else f"; fio cpu {r.client_cpu_pct:.0f}%"


def run_system(ctx, system, results, timings):
    """Fill and the four timed workloads on one system in its mode, into
    results[system.name]; Strata in the snapshot mode also times snapshots."""
    mode = system.mode
    print(f"{mode.name}/{system.name}: starting", flush=True)
    target = system.start()
    print(f"{mode.name}/{system.name}: {system.describe()}", flush=True)
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
        argv = fio.timed_args(target, w, ctx.shape(mode), out)
        r = run_fio(ctx, system, key, argv, os.path.join(system.dir, f"{key}.log"), w.reads,
                    o.runtime_s + o.ramp_s + TIMED_SLACK_S)
        per[key] = r
        usage = note_amplification(ctx, system, w.label, usage)
        print(f"  {w.label:<13} {r.iops:>9.0f} IOPS {r.bytes_per_s / 1e6:>8.1f} MB/s "
              f"p99 {r.p99_ms:.2f} ms{_cpu_note(r)}{_flush_note(r)}", flush=True)
    if (isinstance(system, systems.Strata) and not o.no_snapshots
            and mode.name == snapshot_mode(o)):
        timings.extend(snapshots.measure(ctx, system))


def print_amplification(amplification):
    if not amplification:
        return
    print()
    print("strata write amplification (bytes written to layer files and map journals per byte "
          "clients wrote):")
    for (mode, label), (disk, journal) in amplification.items():
        print(f"  {mode:<8} {label:<13} data {disk:.3f}x  map {journal:.4f}x  "
              f"total {disk + journal:.3f}x")


def mode_failures(failures, mode):
    """The systems that failed in `mode` (failures keys are "<mode>/<system>")."""
    return {key.split("/", 1)[1] for key in failures if key.startswith(mode + "/")}


def print_mode(opts, mode, results, failures):
    m = modes.MODES[mode]
    fsync = m.fsync_every(opts.fsync_every)
    print()
    flush = (f"run fio --fsync={fsync} (fio's count of writes per FLUSH: see writes/flush)"
             if fsync else "send no fsync (FLUSH)")
    print(f"== {mode} mode: {m.summary()}; write workloads {flush} ==")
    print(report.results_table(mode, results, opts.systems, mode_failures(failures, mode)))
    limit = report.client_limit_line(mode, results, opts.systems)
    if limit:
        print(limit)
    ratios = report.ratio_table(mode, results, opts.systems)
    if ratios:
        print()
        print(ratios)
    flush = report.flush_table(mode, results, opts.systems)
    if flush:
        print()
        print(f"{mode} flush cost (fio fsync on the write workloads: an NBD FLUSH for the servers, "
              f"fsync(2) for local):")
        print(flush)


def print_fs(opts, fs_results, failures):
    order = fs_workload.rows(opts)
    if not order:
        return
    print()
    print(f"== file system on a volume: fio {opts.fs_write_bytes / fio.MIB:.0f} MiB write + fsync, "
          f"pgbench -i -s {opts.pgbench_scale} (PostgreSQL 15, fsync=on, synchronous_commit=on) ==")
    for row in order:
        print(f"  {row}: {fs_workload.describe(row, opts)}")
    print(report.fs_table(fs_results, order, {k.split("/", 1)[1] for k in failures
                                              if k.startswith("fs/")}))


def print_report(opts, machine, runs, failures, timings, amplification=None, fs_results=None):
    fs_results = fs_results or {}
    print()
    print("== volumes bench: fio over NBD ==")
    if not opts.only_fs:
        fsyncs = ", ".join(f"{m} {modes.MODES[m].fsync_every(opts.fsync_every) or 'none'}"
                           for m in opts.modes)
        print(f"size {opts.size_bytes / fio.GIB:g} GiB, runtime {opts.runtime_s} s "
              f"(+{opts.ramp_s} s ramp), iodepth {opts.iodepth}, numjobs {opts.numjobs}, "
              f"write workloads' fio --fsync: {fsyncs}; reads after a full fill (ending with "
              f"an fsync)")
    print(bench_run.machine_line(machine))
    print(f"tools: {machine['fio']}; {machine['qemu_nbd']}; {machine['nbdkit']}; "
          f"{machine['nbdfuse']}; {machine['postgres']}")
    if not opts.only_fs:
        print("machine limit: the 'local' rows are fio on a file of the work dir's own filesystem "
              "(cached: buffered; durable: O_DIRECT)")
        if "nbd-null" in opts.systems:
            print("NBD client limit: the 'nbd-null' rows are the same fio jobs over NBD against "
                  "`nbdkit null` (no storage; writes and FLUSHes discarded), the most any NBD "
                  "server can get through fio's nbd engine here; 'fio cpu%' is the fio client's "
                  "usr+sys CPU (100 = one core)")
    verdicts = []
    for mode in opts.modes if not opts.only_fs else ():
        results = runs.get(mode, {})
        print_mode(opts, mode, results, failures)
        verdicts += report.fio_verdicts(mode, results, opts.systems)
    print_amplification(amplification)
    if timings:
        mode = snapshot_mode(opts)
        print()
        print(f"snapshot and clone creation ({mode} mode's server; client wall time of one POST, "
              f"new connection):")
        print(report.snapshot_table(timings))
        verdicts += report.snapshot_verdicts(timings, mode)
    print_fs(opts, fs_results, failures)
    verdicts += report.fs_verdicts(fs_results, fs_workload.rows(opts))
    if verdicts:
        print()
        print("targets (brief, volumes rows):")
        print(report.verdict_lines(verdicts))
    for name, why in failures.items():
        print(f"\n{name} FAILED: {why}", file=sys.stderr)


def mode_settings(opts):
    """Per mode, what each system runs with (for --json)."""
    out = {}
    for name in opts.modes:
        m = modes.MODES[name]
        out[name] = dict(vars(m), qemu_aio=list(m.qemu_aio),
                         write_fsync_every=m.fsync_every(opts.fsync_every))
    return out


def main(argv):
    opts = parse_args(argv)
    modes.set_strata_durable_io(opts.strata_durable_io)
    runs, failures, timings, fs_results = {}, {}, [], {}
    with bench_run.Run(opts, "volumes") as run:
        work_dir = run.work_dir
        ctx = Context(opts, work_dir, run.children, run.at_exit)
        machine = machine_info(work_dir)
        started = time.monotonic()
        try:
            check_space(opts, work_dir)
            print(f"work dir {work_dir}", flush=True)
            for mode in opts.modes if not opts.only_fs else ():
                results = runs.setdefault(mode, {})
                for name in opts.systems:
                    system = systems.SYSTEMS[name](ctx, modes.MODES[mode])
                    try:
                        run_system(ctx, system, results, timings)
                    except BenchError as e:
                        failures[f"{mode}/{name}"] = str(e)
                        print(f"{mode}/{name}: FAILED: {str(e).splitlines()[0]}", flush=True)
                    finally:
                        run.end_system(system)
            fs_workload.run(ctx, fs_results, failures)
        except BenchError as e:
            failures["bench"] = str(e)
    if run.interrupted:
        return 130
    print_report(opts, machine, runs, failures, timings, ctx.write_amplification, fs_results)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if opts.json_path:
        bench_run.write_json(opts.json_path,
                             report.to_json(runs, opts.systems, failures, timings, snapshot_mode(opts),
                                            fs_results, fs_workload.rows(opts), machine,
                                            bench_run.settings(opts), mode_settings(opts)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
