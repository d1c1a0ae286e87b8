"""Figures, the table, ratios and verdicts against the issue's clone targets.

Pure functions only (no processes, no I/O), so bench/clones/tests can check
them without PostgreSQL or Strata.
"""

import statistics
from dataclasses import dataclass, field

import bench_report
from bench_report import Verdict

GIB = 1 << 30
MIB = 1 << 20

# The targets (issue 9, "Benchmark: make bench-clones").
CLONE_GOAL_S = 1.0              # a clone accepts connections in under 1 s, at every size
SIZE_SCALING_GOAL = 1.2         # the largest size within 1.2x of the smallest
BASEBACKUP_GOAL = 50.0          # at least 50x faster than pg_basebackup + start at the largest size
IDLE_CLONE_GOAL_BYTES = 5 * MIB  # an idle clone owns under 5 MiB
RESET_GOAL_S = 1.0              # reset in under 1 s

STRATA = "strata clone"
RESET = "strata reset"
BASEBACKUP = "pg_basebackup"
COPY = "cp -a"
SYSTEMS = (STRATA, RESET, BASEBACKUP, COPY)
PEERS = (BASEBACKUP, COPY)


@dataclass
class SizeResult:
    """Everything measured for one source size (one pgbench scale)."""
    scale: int
    db_bytes: int = 0                           # pg_database_size of the source's `app`
    seconds: dict = field(default_factory=dict)  # system -> [seconds per run]
    api_ms: list = field(default_factory=list)   # clone_ms the API reported per clone
    idle_exclusive_bytes: list = field(default_factory=list)
    many_count: int = 0
    many_total_s: float = None
    many_rss_bytes: int = None                  # sum of RSS of every clone postgres process
    many_pss_bytes: int = None                  # sum of PSS (shared pages split among sharers)
    failures: dict = field(default_factory=dict)  # system -> why

    def median(self, system):
        runs = self.seconds.get(system)
        return statistics.median(runs) if runs else None

    @property
    def label(self):
        return size_label(self.db_bytes, self.scale)


def size_label(db_bytes, scale):
    if db_bytes:
        return f"{db_bytes / GIB:.1f} GiB" if db_bytes >= GIB / 10 else f"{db_bytes / MIB:.0f} MiB"
    return f"scale {scale}"


def parse_scales(text):
    """'70 700' or '70,700' -> [70, 700] (positive, no duplicates, in order given)."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ValueError("no pgbench scale given")
    scales = []
    for p in parts:
        if not p.isdigit() or int(p) <= 0:
            raise ValueError(f"{p!r} is not a positive pgbench scale")
        if int(p) not in scales:
            scales.append(int(p))
    return scales


def ratio(slow_s, fast_s):
    """How many times faster fast is than slow; None when either is missing."""
    if slow_s is None or fast_s is None or fast_s <= 0:
        return None
    return slow_s / fast_s


def fmt_s(value):
    if value is None:
        return "-"
    return f"{value * 1e3:.0f} ms" if value < 10 else f"{value:.1f} s"


def fmt_bytes(value):
    if value is None:
        return "-"
    if value >= GIB:
        return f"{value / GIB:.2f} GiB"
    if value >= MIB:
        return f"{value / MIB:.1f} MiB"
    return f"{value / 1024:.0f} KiB"


def fmt_ratio(value):
    return "-" if value is None else f"{value:.1f}x"


def timing_table(results):
    """One row per size and system: runs, median, min, max, and the peer's
    time over Strata's clone time."""
    lines = [f"{'size':<10} {'system':<14} {'n':>2} {'median':>9} {'min':>9} {'max':>9} {'vs strata clone':>16}"]
    for r in results:
        strata = r.median(STRATA)
        for system in SYSTEMS:
            runs = r.seconds.get(system)
            if not runs:
                why = "failed" if system in r.failures else "not run"
                lines.append(f"{r.label:<10} {system:<14} {'':>2} {why:>9}")
                continue
            vs = fmt_ratio(ratio(r.median(system), strata)) if system in PEERS else ""
            lines.append(f"{r.label:<10} {system:<14} {len(runs):>2} {fmt_s(statistics.median(runs)):>9} "
                         f"{fmt_s(min(runs)):>9} {fmt_s(max(runs)):>9} {vs:>16}")
    return "\n".join(lines)


def resource_table(results):
    lines = [f"{'size':<10} {'idle clone own disk (max)':>26} {'N at once':>10} {'total':>9} "
             f"{'RSS sum':>11} {'PSS sum':>11}"]
    for r in results:
        idle = max(r.idle_exclusive_bytes) if r.idle_exclusive_bytes else None
        lines.append(f"{r.label:<10} {fmt_bytes(idle):>26} {r.many_count or '-':>10} {fmt_s(r.many_total_s):>9} "
                     f"{fmt_bytes(r.many_rss_bytes):>11} {fmt_bytes(r.many_pss_bytes):>11}")
    return "\n".join(lines)


def verdicts(results):
    """The issue's targets, judged on medians. A missing figure is MISSED."""
    out = []
    for r in results:
        s = r.median(STRATA)
        out.append(Verdict(f"clone accepts connections, {r.label}", fmt_s(s), f"< {CLONE_GOAL_S:g} s",
                           s is not None and s < CLONE_GOAL_S))
    if len(results) >= 2:
        small, large = results[0], results[-1]
        if large.db_bytes < small.db_bytes:
            small, large = large, small
        q = ratio(large.median(STRATA), small.median(STRATA))
        out.append(Verdict(f"clone time {large.label} vs {small.label}", fmt_ratio(q),
                           f"<= {SIZE_SCALING_GOAL:g}x", q is not None and q <= SIZE_SCALING_GOAL))
    if results:
        large = max(results, key=lambda r: (r.db_bytes, r.scale))
        q = ratio(large.median(BASEBACKUP), large.median(STRATA))
        out.append(Verdict(f"faster than pg_basebackup + start, {large.label}", fmt_ratio(q),
                           f">= {BASEBACKUP_GOAL:g}x", q is not None and q >= BASEBACKUP_GOAL))
    for r in results:
        idle = max(r.idle_exclusive_bytes) if r.idle_exclusive_bytes else None
        out.append(Verdict(f"idle clone's own disk, {r.label}", fmt_bytes(idle),
                           f"< {IDLE_CLONE_GOAL_BYTES // MIB} MiB",
                           idle is not None and idle < IDLE_CLONE_GOAL_BYTES))
    for r in results:
        s = r.median(RESET)
        out.append(Verdict(f"reset, {r.label}", fmt_s(s), f"< {RESET_GOAL_S:g} s", s is not None and s < RESET_GOAL_S))
    return out


def verdict_lines(items):
    return bench_report.verdict_lines(items, 44, 10, 9)


# --- process memory ---------------------------------------------------------------------
def parse_smaps_rollup(text):
    """(rss_bytes, pss_bytes) from the text of /proc/PID/smaps_rollup."""
    rss = pss = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Rss:":
            rss = int(parts[1]) * 1024
        elif len(parts) >= 2 and parts[0] == "Pss:":
            pss = int(parts[1]) * 1024
    return rss, pss


def descendants(parents, roots):
    """Every pid under roots (roots included), given {pid: ppid}."""
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, ()))
    return seen


def to_json(results, machine, settings):
    return {
        "machine": machine,
        "settings": settings,
        "sizes": [{
            "scale": r.scale, "db_bytes": r.db_bytes, "label": r.label,
            "seconds": r.seconds, "medians": {k: r.median(k) for k in r.seconds},
            "api_clone_ms": r.api_ms, "idle_exclusive_bytes": r.idle_exclusive_bytes,
            "many": {"count": r.many_count, "total_s": r.many_total_s, "rss_bytes": r.many_rss_bytes,
                     "pss_bytes": r.many_pss_bytes},
            "ratios": {p: ratio(r.median(p), r.median(STRATA)) for p in PEERS},
            "failures": r.failures,
        } for r in results],
        "verdicts": [vars(v) for v in verdicts(results)],
    }
