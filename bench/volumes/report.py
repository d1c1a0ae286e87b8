"""Tables, ratios and verdicts against the brief's volume targets."""

import bench_report
from bench_report import Verdict
from fio import WORKLOADS

PEERS = ("qemu-nbd", "nbdkit", "local")
# The brief's targets: 4 KiB random IOPS at least 1.0x qemu-nbd's and at
# least 70% of the local disk's; snapshot and clone creation under 50 ms.
RAND_WORKLOADS = ("randread", "randwrite")
GOAL_VS_QEMU = 1.0
GOAL_VS_LOCAL = 0.70
SNAPSHOT_GOAL_MS = 50.0


def ratio(results, workload, peer):
    """Strata's IOPS over the peer's, or None when either is missing."""
    strata = results.get("strata", {}).get(workload)
    other = results.get(peer, {}).get(workload)
    if strata is None or other is None or other.iops <= 0:
        return None
    return strata.iops / other.iops


def _fmt_ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def results_table(results, systems, failures):
    lines = [f"{'workload':<13} {'system':<9} {'IOPS':>9} {'MB/s':>8} {'p99 ms':>8} {'mean ms':>8}"]
    for w in WORKLOADS:
        for name in systems:
            r = results.get(name, {}).get(w.key)
            if r is None:
                why = "failed" if name in failures else "not run"
                lines.append(f"{w.label:<13} {name:<9} {why:>9}")
                continue
            lines.append(f"{w.label:<13} {name:<9} {r.iops:>9.0f} {r.bytes_per_s / 1e6:>8.1f} "
                         f"{r.p99_ms:>8.2f} {r.mean_ms:>8.2f}")
    return "\n".join(lines)


def ratio_table(results, systems):
    peers = [p for p in PEERS if p in systems]
    if "strata" not in systems or not peers:
        return ""
    head = f"{'IOPS ratio':<13} " + " ".join(f"{'strata/' + p:>16}" for p in peers)
    lines = [head]
    for w in WORKLOADS:
        cells = " ".join(f"{_fmt_ratio(ratio(results, w.key, p)):>16}" for p in peers)
        lines.append(f"{w.label:<13} {cells}")
    return "\n".join(lines)


def fio_verdicts(results, systems):
    verdicts = []
    if "strata" not in systems:
        return verdicts
    labels = {w.key: w.label for w in WORKLOADS}
    for key in RAND_WORKLOADS:
        if "qemu-nbd" in systems:
            r = ratio(results, key, "qemu-nbd")
            verdicts.append(Verdict(f"{labels[key]} IOPS vs qemu-nbd", _fmt_ratio(r),
                                    f">= {GOAL_VS_QEMU:.1f}x",
                                    r is not None and r >= GOAL_VS_QEMU))
        if "local" in systems:
            r = ratio(results, key, "local")
            value = "-" if r is None else f"{r * 100:.0f}%"
            verdicts.append(Verdict(f"{labels[key]} IOPS vs local disk", value,
                                    f">= {GOAL_VS_LOCAL * 100:.0f}%",
                                    r is not None and r >= GOAL_VS_LOCAL))
    return verdicts


def snapshot_table(timings):
    lines = [f"{'volume':<8} {'op':<9} {'n':>3} {'median ms':>10} {'min ms':>8} {'max ms':>8}"]
    for t in timings:
        lines.append(f"{t.volume_label:<8} {t.op:<9} {len(t.seconds):>3} {t.median_ms:>10.2f} "
                     f"{t.min_ms:>8.2f} {t.max_ms:>8.2f}")
    return "\n".join(lines)


def snapshot_verdicts(timings):
    return [Verdict(f"{t.op} of a {t.volume_label} volume (median)", f"{t.median_ms:.1f} ms",
                    f"< {SNAPSHOT_GOAL_MS:.0f} ms", t.median_ms < SNAPSHOT_GOAL_MS)
            for t in timings]


def verdict_lines(verdicts):
    return bench_report.verdict_lines(verdicts, 40, 10, 8)


def to_json(results, failures, timings, machine, settings):
    return {
        "machine": machine,
        "settings": settings,
        "results": {sys: {k: vars(r) for k, r in per.items()} for sys, per in results.items()},
        "failures": failures,
        "ratios": {w.key: {p: ratio(results, w.key, p) for p in PEERS} for w in WORKLOADS},
        "snapshots": [{"volume": t.volume_label, "size_bytes": t.size_bytes, "op": t.op,
                       "seconds": t.seconds, "median_ms": t.median_ms} for t in timings],
        "verdicts": [vars(v) for v in fio_verdicts(results, list(results)) +
                     snapshot_verdicts(timings)],
    }
