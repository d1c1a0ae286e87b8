"""Tables, ratios and verdicts against the brief's volume targets.

Pure (no processes, no I/O). fio figures come per mode: `results` below is
always one mode's {system: {workload key: fio.Result}}, and every line these
functions print names its mode.

nbd-null (nbdkit's null plugin, no storage) is a reference, not a peer: the
ratio table shows Strata over it, and a missed "vs local disk" target says so
when nbd-null itself stays below the goal (no NBD server could meet it on this
machine), but no verdict compares Strata with it.
"""

from dataclasses import dataclass

import bench_report
from fio import WORKLOADS

PEERS = ("qemu-nbd", "nbdkit", "local")
LIMIT = "nbd-null"   # the NBD client-limit reference system (systems.NbdNull)
LABELS = {w.key: w.label for w in WORKLOADS}
WRITE_KEYS = tuple(w.key for w in WORKLOADS if not w.reads)

# The brief's targets. 4 KiB random: IOPS at least 1.0x qemu-nbd's and at
# least 70% of the local disk's, in the durable mode. 1 MiB sequential: MB/s
# at least 1.0x nbdkit's and 70% of the local disk's, and p99 at most 2x the
# local disk's, in both modes. Snapshot and clone creation under 50 ms.
# pgbench -i on a Strata volume within 1.5x of the local disk's time.
RAND_WORKLOADS = ("randread", "randwrite")
SEQ_WORKLOADS = ("seqread", "seqwrite")
RAND_GOAL_MODES = ("durable",)
GOAL_VS_QEMU = 1.0
GOAL_VS_NBDKIT = 1.0
GOAL_VS_LOCAL = 0.70
P99_GOAL_VS_LOCAL = 2.0
SNAPSHOT_GOAL_MS = 50.0
PGBENCH_GOAL_VS_LOCAL = 1.5
FS_STRATA_ROW = "strata"       # the fs row the pgbench verdict is about (Strata durable)


@dataclass
class Verdict(bench_report.Verdict):
    """bench_report's verdict with a note: why a target is out of reach on
    this machine (empty when there is nothing to add)."""
    note: str = ""


def over(results, workload, system, other, metric="iops"):
    """system's figure over other's (IOPS, or bytes_per_s), or None when either is missing."""
    mine = results.get(system, {}).get(workload)
    theirs = results.get(other, {}).get(workload)
    if mine is None or theirs is None or getattr(theirs, metric) <= 0:
        return None
    return getattr(mine, metric) / getattr(theirs, metric)


def ratio(results, workload, peer, metric="iops"):
    """Strata's figure over the peer's (IOPS, or bytes_per_s), or None when either is missing."""
    return over(results, workload, "strata", peer, metric)


def limit_vs_local(results, workload, metric="iops"):
    """nbd-null's figure over the local disk's: how much of the machine's
    limit the NBD client path alone can reach; None when either is missing."""
    return over(results, workload, LIMIT, "local", metric)


def client_limit_note(results, workload, metric, goal=None):
    """For a missed "vs local disk" target: when nbd-null itself stays below
    the goal fraction of local, the explanation (what nbd-null reaches, and
    Strata's share of nbd-null); else ""."""
    goal = GOAL_VS_LOCAL if goal is None else goal
    limit = limit_vs_local(results, workload, metric)
    if limit is None or limit >= goal:
        return ""
    note = f"NBD client limit: {LIMIT} reaches {_fmt_pct(limit)} of local"
    share = ratio(results, workload, LIMIT, metric)
    if share is not None:
        note += f"; strata is {_fmt_pct(share)} of {LIMIT}"
    return note


def p99_ratio(results, workload):
    """Strata's p99 completion latency over the local disk's, or None."""
    strata = results.get("strata", {}).get(workload)
    local = results.get("local", {}).get(workload)
    if strata is None or local is None or local.p99_ms <= 0:
        return None
    return strata.p99_ms / local.p99_ms


def _fmt_ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def _fmt_pct(value):
    return "-" if value is None else f"{value * 100:.0f}%"


def _fmt_ms(value):
    return "-" if value is None else f"{value:.2f}"


def _fmt_cpu(value):
    return "-" if value is None else f"{value:.0f}"


def results_table(mode, results, systems, failed):
    """One row per workload and system; `failed` holds the systems that failed
    in this mode. `fio cpu%` is the fio client's usr + sys CPU in percent of
    one CPU: near 100 per job, the client sets the pace."""
    lines = [f"{'mode':<8} {'workload':<13} {'system':<9} {'IOPS':>9} {'MB/s':>8} {'p99 ms':>8} "
             f"{'mean ms':>8} {'fio cpu%':>8}"]
    for w in WORKLOADS:
        for name in systems:
            r = results.get(name, {}).get(w.key)
            if r is None:
                why = "failed" if name in failed else "not run"
                lines.append(f"{mode:<8} {w.label:<13} {name:<9} {why:>9}")
                continue
            lines.append(f"{mode:<8} {w.label:<13} {name:<9} {r.iops:>9.0f} {r.bytes_per_s / 1e6:>8.1f} "
                         f"{r.p99_ms:>8.2f} {r.mean_ms:>8.2f} {_fmt_cpu(r.client_cpu_pct):>8}")
    return "\n".join(lines)


def ratio_table(mode, results, systems):
    """Strata's IOPS over each peer's and over nbd-null's (the NBD client
    limit), and its p99 over the local disk's. Each workload has one block
    size, so an IOPS ratio is also the MB/s ratio."""
    others = [p for p in PEERS if p in systems] + ([LIMIT] if LIMIT in systems else [])
    if "strata" not in systems or not others:
        return ""
    cols = [f"{'strata/' + p:>16}" for p in others]
    if "local" in systems:
        cols.append(f"{'p99 strata/local':>17}")
    lines = [f"{'mode':<8} {'IOPS ratio':<13} " + " ".join(cols)]
    for w in WORKLOADS:
        cells = [f"{_fmt_ratio(ratio(results, w.key, p)):>16}" for p in others]
        if "local" in systems:
            cells.append(f"{_fmt_ratio(p99_ratio(results, w.key)):>17}")
        lines.append(f"{mode:<8} {w.label:<13} " + " ".join(cells))
    return "\n".join(lines)


def flush_table(mode, results, systems):
    """The fsyncs (NBD FLUSHes for the servers) of each write workload, per
    system: how many fio completed, writes per fsync, their mean and p99
    latency. Empty when no write workload flushed (the cached mode without
    --fsync)."""
    rows = []
    for name in systems:
        for key in WRITE_KEYS:
            r = results.get(name, {}).get(key)
            if r is None or r.flushes <= 0:
                continue
            per_flush = f"{r.ios / r.flushes:.1f}" if r.ios > 0 else "-"
            rows.append(f"{mode:<8} {name:<9} {LABELS[key]:<13} {r.flushes:>8} {per_flush:>13} "
                        f"{_fmt_ms(r.flush_mean_ms):>8} {_fmt_ms(r.flush_p99_ms):>8}")
    if not rows:
        return ""
    return "\n".join([f"{'mode':<8} {'system':<9} {'workload':<13} {'flushes':>8} {'writes/flush':>13} "
                      f"{'mean ms':>8} {'p99 ms':>8}"] + rows)


def _target_metric(workload):
    """The metric the targets use for a workload: IOPS for 4 KiB random, bytes/s for 1 MiB sequential."""
    return "iops" if workload in RAND_WORKLOADS else "bytes_per_s"


def client_limit_line(mode, results, systems):
    """One line: nbd-null's figure per workload (IOPS for 4 KiB random, MB/s
    for 1 MiB sequential) as the NBD client limit, with its share of the local
    disk's; "" when nbd-null is not in the run."""
    if LIMIT not in systems:
        return ""
    parts = []
    for w in WORKLOADS:
        r = results.get(LIMIT, {}).get(w.key)
        if r is None:
            parts.append(f"{w.label} -")
            continue
        metric = _target_metric(w.key)
        figure = f"{r.iops:.0f} IOPS" if metric == "iops" else f"{r.bytes_per_s / 1e6:.1f} MB/s"
        vs = limit_vs_local(results, w.key, metric)
        parts.append(f"{w.label} {figure}" + ("" if vs is None else f" ({_fmt_pct(vs)} of local)"))
    return f"{mode:<8} NBD client limit ({LIMIT}, no storage): " + ", ".join(parts)


def fio_verdicts(mode, results, systems):
    """The fio targets that apply to `mode`, each `what` starting with the mode."""
    verdicts = []
    if "strata" not in systems:
        return verdicts

    def vs_peer(key, peer, metric, unit, goal):
        r = ratio(results, key, peer, metric)
        verdicts.append(Verdict(f"{mode} {LABELS[key]} {unit} vs {peer}", _fmt_ratio(r),
                                f">= {goal:.1f}x", r is not None and r >= goal))

    def vs_local(key, metric, unit):
        r = ratio(results, key, "local", metric)
        met = r is not None and r >= GOAL_VS_LOCAL
        note = "" if met or LIMIT not in systems else client_limit_note(results, key, metric)
        verdicts.append(Verdict(f"{mode} {LABELS[key]} {unit} vs local disk", _fmt_pct(r),
                                f">= {GOAL_VS_LOCAL * 100:.0f}%", met, note))

    if mode in RAND_GOAL_MODES:
        for key in RAND_WORKLOADS:
            if "qemu-nbd" in systems:
                vs_peer(key, "qemu-nbd", "iops", "IOPS", GOAL_VS_QEMU)
            if "local" in systems:
                vs_local(key, "iops", "IOPS")
    for key in SEQ_WORKLOADS:
        if "nbdkit" in systems:
            vs_peer(key, "nbdkit", "bytes_per_s", "MB/s", GOAL_VS_NBDKIT)
        if "local" in systems:
            vs_local(key, "bytes_per_s", "MB/s")
    if "local" in systems:
        for key in SEQ_WORKLOADS:
            r = p99_ratio(results, key)
            verdicts.append(Verdict(f"{mode} {LABELS[key]} p99 vs local disk", _fmt_ratio(r),
                                    f"<= {P99_GOAL_VS_LOCAL:.1f}x",
                                    r is not None and r <= P99_GOAL_VS_LOCAL))
    return verdicts


def snapshot_table(timings):
    lines = [f"{'volume':<8} {'op':<9} {'n':>3} {'median ms':>10} {'min ms':>8} {'max ms':>8}"]
    for t in timings:
        lines.append(f"{t.volume_label:<8} {t.op:<9} {len(t.seconds):>3} {t.median_ms:>10.2f} "
                     f"{t.min_ms:>8.2f} {t.max_ms:>8.2f}")
    return "\n".join(lines)


def snapshot_verdicts(timings, mode):
    return [Verdict(f"{mode} {t.op} of a {t.volume_label} volume (median)", f"{t.median_ms:.1f} ms",
                    f"< {SNAPSHOT_GOAL_MS:.0f} ms", t.median_ms < SNAPSHOT_GOAL_MS)
            for t in timings]


# --- the file system workload ---------------------------------------------------
def fs_ratio(rows, name, attr):
    """rows[name].attr over rows["local"].attr, or None when either is missing."""
    row, local = rows.get(name), rows.get("local")
    if row is None or local is None:
        return None
    a, b = getattr(row, attr), getattr(local, attr)
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fs_table(rows, order, failed):
    """One line per row: the fio write (MB/s over the whole run including its
    final fsync, and fio's own rate before that fsync), pgbench -i seconds,
    and the ratios to the local row."""
    lines = [f"{'row':<14} {'write MB/s':>10} {'pre-fsync':>10} {'x local':>8} "
             f"{'pgbench -i s':>12} {'x local':>8}"]
    for name in order:
        r = rows.get(name)
        if r is None:
            lines.append(f"{name:<14} {'failed' if name in failed else 'not run':>10}")
            continue
        mbps = "-" if r.write_bytes_per_s is None else f"{r.write_bytes_per_s / 1e6:.1f}"
        pre = "-" if r.write_fio_bytes_per_s is None else f"{r.write_fio_bytes_per_s / 1e6:.1f}"
        pg = "-" if r.pgbench_init_s is None else f"{r.pgbench_init_s:.1f}"
        lines.append(f"{name:<14} {mbps:>10} {pre:>10} "
                     f"{_fmt_ratio(fs_ratio(rows, name, 'write_bytes_per_s')):>8} {pg:>12} "
                     f"{_fmt_ratio(fs_ratio(rows, name, 'pgbench_init_s')):>8}")
    return "\n".join(lines)


def fs_verdicts(rows, order):
    if FS_STRATA_ROW not in order or "local" not in order:
        return []
    r = fs_ratio(rows, FS_STRATA_ROW, "pgbench_init_s")
    return [Verdict("durable pgbench -i on a Strata volume vs local disk", _fmt_ratio(r),
                    f"<= {PGBENCH_GOAL_VS_LOCAL:.1f}x", r is not None and r <= PGBENCH_GOAL_VS_LOCAL)]


def verdict_lines(verdicts):
    """bench_report's lines, each verdict's note (if any) in parentheses after met/MISSED."""
    lines = []
    for v in verdicts:
        line = bench_report.verdict_lines([v], 50, 10, 8)
        note = getattr(v, "note", "")
        lines.append(f"{line} ({note})" if note else line)
    return "\n".join(lines)


def _client_limit_json(results):
    """Per workload, nbd-null's figures and their share of local's; None where it did not run."""
    out = {}
    for w in WORKLOADS:
        r = results.get(LIMIT, {}).get(w.key)
        out[w.key] = None if r is None else {
            "iops": r.iops, "bytes_per_s": r.bytes_per_s, "client_cpu_pct": r.client_cpu_pct,
            "vs_local_iops": limit_vs_local(results, w.key, "iops"),
            "vs_local_bytes_per_s": limit_vs_local(results, w.key, "bytes_per_s"),
        }
    return out


def _mode_json(mode, results, systems):
    return {
        "results": {name: {k: vars(r) for k, r in per.items()} for name, per in results.items()},
        "ratios": {w.key: {p: ratio(results, w.key, p) for p in PEERS + (LIMIT,)} for w in WORKLOADS},
        "p99_vs_local": {w.key: p99_ratio(results, w.key) for w in WORKLOADS},
        "client_limit": _client_limit_json(results),
        "verdicts": [vars(v) for v in fio_verdicts(mode, results, systems)],
    }


def to_json(runs, systems, failures, timings, snapshot_mode, fs_rows, fs_order, machine, settings,
            mode_settings):
    """runs: {mode: {system: {workload: Result}}}; fs_rows: {row: FsResult}."""
    modes = {}
    verdicts = []
    for mode, results in runs.items():
        modes[mode] = dict(_mode_json(mode, results, systems), mode=mode, settings=mode_settings[mode])
        verdicts += [dict(vars(v), mode=mode) for v in fio_verdicts(mode, results, systems)]
    verdicts += [dict(vars(v), mode=snapshot_mode) for v in snapshot_verdicts(timings, snapshot_mode)]
    verdicts += [dict(vars(v), mode="durable") for v in fs_verdicts(fs_rows, fs_order)]
    return {
        "machine": machine,
        "settings": settings,
        "modes": modes,
        "failures": failures,
        "snapshots": [{"mode": snapshot_mode, "volume": t.volume_label, "size_bytes": t.size_bytes,
                       "op": t.op, "seconds": t.seconds, "median_ms": t.median_ms} for t in timings],
        "fs": {"rows": {name: dict(vars(r)) for name, r in fs_rows.items()},
               "vs_local": {name: {"write_bytes_per_s": fs_ratio(fs_rows, name, "write_bytes_per_s"),
                                   "pgbench_init_s": fs_ratio(fs_rows, name, "pgbench_init_s")}
                            for name in fs_rows}},
        "verdicts": verdicts,
    }
