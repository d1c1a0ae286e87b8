"""Snapshot and clone creation times, at 1 GiB and at 100 GiB (sparse).

Both volumes get `scatter_ios` 4 KiB writes at random offsets, so their maps
hold many small extents; the 1 GiB one is also written in full first. Before
each snapshot, a few more random writes land, so every snapshot freezes a
different state. Each time is the client's wall time for one POST on a new
loopback connection (connect, request, whole reply).
"""

import os
import statistics
from dataclasses import dataclass

import fio
from bench_procs import BenchError, log_tail

WRITES_BETWEEN_SNAPSHOTS = 64
FIO_TIMEOUT_S = 600.0


@dataclass
class Timing:
    volume_label: str
    size_bytes: int
    op: str              # "snapshot" or "clone"
    seconds: list

    @property
    def median_ms(self):
        return statistics.median(self.seconds) * 1e3

    @property
    def min_ms(self):
        return min(self.seconds) * 1e3

    @property
    def max_ms(self):
        return max(self.seconds) * 1e3


def _run_fio(ctx, strata, make_argv, log_name):
    """make_argv(json_output_path) -> fio's command line."""
    out = os.path.join(strata.dir, log_name + ".json")
    log = os.path.join(strata.dir, log_name + ".log")
    status = ctx.children.run(f"fio {log_name}", make_argv(out), log, FIO_TIMEOUT_S)
    strata.check_alive()
    if status != 0:
        raise BenchError(f"fio {log_name} against strata failed (status {status}):\n"
                         f"{log_tail(log)}")


def _prepare(ctx, strata, name, size_bytes, fill):
    strata.admin.create_volume(name, size_bytes)
    target = fio.NbdTarget(strata.uri(name))
    if fill:
        _run_fio(ctx, strata, lambda out: fio.fill_args(target, size_bytes, ctx.opts.iodepth, out),
                 f"{name}-fill")
    ios = ctx.opts.snap_scatter_ios
    if ios > 0:
        _run_fio(ctx, strata, lambda out: fio.scatter_args(target, size_bytes, ios, out),
                 f"{name}-scatter")
    return target


def _measure_volume(ctx, strata, label, size_bytes, fill):
    name = f"snap-{label.replace(' ', '').lower()}"
    print(f"  strata: preparing {label} volume {name}"
          f"{' (full write + ' if fill else ' (sparse, '}{ctx.opts.snap_scatter_ios} "
          f"random 4 KiB writes)", flush=True)
    target = _prepare(ctx, strata, name, size_bytes, fill)
    snaps, clones = [], []
    for i in range(ctx.opts.snap_repeats):
        _run_fio(ctx, strata,
                 lambda out: fio.scatter_args(target, size_bytes,
                                                WRITES_BETWEEN_SNAPSHOTS, out),
                 f"{name}-between")
        snaps.append(strata.admin.create_snapshot(name, f"s{i}"))
        clones.append(strata.admin.create_clone(f"{name}@s{i}", f"{name}-c{i}"))
    return [Timing(label, size_bytes, "snapshot", snaps), Timing(label, size_bytes, "clone", clones)]


def measure(ctx, strata):
    timings = []
    timings += _measure_volume(ctx, strata, "1 GiB", fio.GIB, fill=True)
    timings += _measure_volume(ctx, strata, "100 GiB", 100 * fio.GIB, fill=False)
    return timings
