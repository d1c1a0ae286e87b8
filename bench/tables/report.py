"""Pure helpers of the tables benchmark: result checks, statistics, ratios,
verdicts and the printed tables. No I/O here, so tests can cover all of it."""

import hashlib
import math
import re
from dataclasses import dataclass, field

import bench_report
from bench_report import Verdict

SYSTEM_ORDER = ("strata", "postgres", "duckdb")
REFERENCE_ORDER = ("duckdb", "postgres", "strata")
# The brief's targets for tables.
GOAL_VS_POSTGRES = 20.0    # geomean hot query time: PostgreSQL / Strata at least this
GOAL_VS_DUCKDB = 1.3       # geomean hot query time: Strata / DuckDB at most this
GOAL_COPY_VS_POSTGRES = 5.0
GOAL_FRESHNESS_MS = 100.0
# Numeric column sums agree when within this relative (or absolute) tolerance:
# systems compute averages in different types (DECIMAL vs DOUBLE).
REL_TOLERANCE = 1e-6
ABS_TOLERANCE = 0.01

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class QueryRun:
    """One system's runs of one query: the cold run, the hot runs, the rows."""
    cold_s: float = None
    hot_s: list = field(default_factory=list)
    rows: list = None
    error: str = None

    @property
    def ok(self):
        return self.error is None and self.hot_s

    def median_hot_s(self):
        return median(self.hot_s) if self.hot_s else None


def median(values):
    s = sorted(values)
    if not s:
        raise ValueError("median of nothing")
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(values, pct):
    """Nearest-rank percentile (pct in 0..100)."""
    s = sorted(values)
    if not s:
        raise ValueError("percentile of nothing")
    rank = max(1, math.ceil(pct / 100 * len(s)))
    return s[rank - 1]


def geomean(values):
    vals = list(values)
    if not vals or any(v <= 0 for v in vals):
        raise ValueError("geomean needs positive values")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


# ---- result checks ----

def _cell(value):
    """A cell as a float when it reads as a number, else its text without trailing blanks."""
    if value is None:
        return "NULL"
    text = str(value).strip()
    if _NUMBER.match(text):
        return float(text)
    return text.rstrip()


@dataclass
class Summary:
    """What is compared across systems: row count, and per column either the
    sum of its numbers or a hash of its sorted texts."""
    rows: int
    columns: list  # ("num", float) or ("text", hex digest)

    def checksum(self):
        nums = sum(v for kind, v in self.columns if kind == "num")
        return f"{self.rows} rows, sum {nums:.6g}"


def summarize(rows):
    rows = [[_cell(v) for v in r] for r in rows]
    ncols = max((len(r) for r in rows), default=0)
    columns = []
    for c in range(ncols):
        values = [r[c] for r in rows if c < len(r)]
        if values and all(isinstance(v, float) for v in values):
            columns.append(("num", math.fsum(values)))
        else:
            digest = hashlib.sha1("\x1f".join(sorted(str(v) for v in values)).encode()).hexdigest()
            columns.append(("text", digest[:12]))
    return Summary(len(rows), columns)


def _close(a, b):
    return abs(a - b) <= max(ABS_TOLERANCE, REL_TOLERANCE * max(abs(a), abs(b)))


def differences(a, b):
    """Why two summaries disagree, as a list of short reasons (empty: they agree)."""
    if a.rows != b.rows:
        return [f"{a.rows} rows vs {b.rows}"]
    if len(a.columns) != len(b.columns):
        return [f"{len(a.columns)} columns vs {len(b.columns)}"]
    why = []
    for i, ((ka, va), (kb, vb)) in enumerate(zip(a.columns, b.columns), start=1):
        if ka != kb:
            why.append(f"column {i} is {ka} vs {kb}")
        elif ka == "num" and not _close(va, vb):
            why.append(f"column {i} sums to {va:.10g} vs {vb:.10g}")
        elif ka == "text" and va != vb:
            why.append(f"column {i} texts differ")
    return why


def check_query(runs_by_system):
    """Compares one query's results across systems.

    Returns (status, details): status is 'ok', 'MISMATCH', or '-' (fewer than
    two systems have rows); details lists the disagreements."""
    # DuckDB native is the reference when it ran: it has no layer of ours.
    order = sorted(runs_by_system, key=lambda s: REFERENCE_ORDER.index(s)
                   if s in REFERENCE_ORDER else len(REFERENCE_ORDER))
    have = [(s, summarize(runs_by_system[s].rows)) for s in order
            if runs_by_system[s] is not None and runs_by_system[s].rows is not None]
    if len(have) < 2:
        return "-", []
    ref_name, ref = have[0]
    details = []
    for name, summ in have[1:]:
        for why in differences(ref, summ):
            details.append(f"{ref_name} vs {name}: {why}")
    return ("MISMATCH" if details else "ok"), details


# ---- ratios and verdicts ----

def common_queries(results, systems):
    """Queries every listed system completed."""
    names = None
    for s in systems:
        done = {q for q, r in results.get(s, {}).items() if r.ok}
        names = done if names is None else names & done
    return sorted(names or [])


def geomeans(results, systems, queries):
    """Geometric mean of median hot times per system over `queries` (seconds)."""
    out = {}
    for s in systems:
        if queries and s in results:
            out[s] = geomean(results[s][q].median_hot_s() for q in queries)
    return out


def _fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}x"


def query_ratio(results, query, num, den):
    a = results.get(num, {}).get(query)
    b = results.get(den, {}).get(query)
    if a is None or b is None or not a.ok or not b.ok:
        return None
    return a.median_hot_s() / b.median_hot_s()


def _fmt_ms(run):
    if run is None:
        return "-"
    if not run.ok:
        return "FAILED"
    return f"{run.median_hot_s() * 1000:.1f}"


def query_table(results, systems, queries, checks):
    head = f"{'query':<6}" + "".join(f"{s + ' ms':>13}" for s in systems)
    show_pg = "strata" in systems and "postgres" in systems
    show_dd = "strata" in systems and "duckdb" in systems
    if show_pg:
        head += f"{'pg/strata':>11}"
    if show_dd:
        head += f"{'strata/duckdb':>15}"
    head += "  check"
    lines = [head]
    for q in queries:
        line = f"{q:<6}" + "".join(f"{_fmt_ms(results.get(s, {}).get(q)):>13}" for s in systems)
        if show_pg:
            line += f"{_fmt_ratio(query_ratio(results, q, 'postgres', 'strata')):>11}"
        if show_dd:
            line += f"{_fmt_ratio(query_ratio(results, q, 'strata', 'duckdb')):>15}"
        line += f"  {checks.get(q, ('-', []))[0]}"
        lines.append(line)
    return "\n".join(lines)


def geomean_line(gm, systems, n_common, n_all):
    cells = "".join(f"{(gm[s] * 1000 if s in gm else float('nan')):>13.1f}" for s in systems)
    return f"{'geomean':<6}{cells}   (median hot ms over the {n_common} of {n_all} queries every system completed)"


def load_table(loads, systems, table_names):
    """loads: system -> table -> (rows, seconds)."""
    head = f"{'table':<10}{'rows':>11}" + "".join(f"{s + ' s':>13}" for s in systems)
    lines = [head]
    for t in table_names:
        rows = next((loads[s][t][0] for s in systems if t in loads.get(s, {})), None)
        cells = "".join(f"{loads[s][t][1]:>13.2f}" if t in loads.get(s, {}) else f"{'-':>13}"
                        for s in systems)
        lines.append(f"{t:<10}{rows if rows is not None else '-':>11}{cells}")
    totals = {s: load_totals(loads.get(s, {}), table_names) for s in systems}
    lines.append(f"{'total':<10}{'':>11}" + "".join(
        f"{totals[s][1]:>13.2f}" if totals[s] else f"{'-':>13}" for s in systems))
    lines.append(f"{'rows/s':<10}{'':>11}" + "".join(
        f"{totals[s][0] / totals[s][1]:>13,.0f}" if totals[s] and totals[s][1] > 0 else f"{'-':>13}"
        for s in systems))
    return "\n".join(lines)


def load_totals(per_table, table_names):
    """(rows, seconds) over all tables, or None unless every table loaded."""
    if not per_table or any(t not in per_table for t in table_names):
        return None
    return (sum(per_table[t][0] for t in table_names), sum(per_table[t][1] for t in table_names))


def verdicts(results, systems, loads, freshness, table_names, n_queries):
    out = []
    if "strata" not in systems:
        return out
    strata_failed = [q for q, r in results.get("strata", {}).items() if not r.ok]
    for peer, goal, better in (("postgres", GOAL_VS_POSTGRES, "ge"), ("duckdb", GOAL_VS_DUCKDB, "le")):
        if peer not in systems:
            continue
        common = common_queries(results, ["strata", peer])
        gm = geomeans(results, ["strata", peer], common) if common else {}
        complete = len(common) == n_queries and not strata_failed
        scope = "" if complete else f" ({len(common)}/{n_queries} queries)"
        if peer == "postgres":
            r = gm[peer] / gm["strata"] if gm else None
            out.append(Verdict("geomean hot query speedup vs PostgreSQL",
                               _fmt_ratio(r) + scope, f">= {goal:g}x",
                               r is not None and complete and r >= goal))
        else:
            r = gm["strata"] / gm[peer] if gm else None
            out.append(Verdict("geomean hot query time vs DuckDB native",
                               _fmt_ratio(r) + scope, f"<= {goal:g}x",
                               r is not None and complete and r <= goal))
    if "postgres" in systems:
        s = load_totals(loads.get("strata", {}), table_names)
        p = load_totals(loads.get("postgres", {}), table_names)
        r = (s[0] / s[1]) / (p[0] / p[1]) if s and p and s[1] > 0 and p[1] > 0 else None
        out.append(Verdict("COPY rows/s vs PostgreSQL", _fmt_ratio(r),
                           f">= {GOAL_COPY_VS_POSTGRES:g}x", r is not None and r >= GOAL_COPY_VS_POSTGRES))
    f = freshness.get("strata")
    p99 = percentile(f, 99) * 1000 if f else None
    out.append(Verdict("freshness p99, insert ack to visible", "-" if p99 is None else f"{p99:.1f} ms",
                       f"<= {GOAL_FRESHNESS_MS:g} ms", p99 is not None and p99 <= GOAL_FRESHNESS_MS))
    return out


def verdict_lines(vs):
    return bench_report.verdict_lines(vs, 42, 20, 9)


def freshness_line(name, latencies_s, failures):
    if not latencies_s:
        return f"  {name:<9} no successful trials ({failures} failed)"
    ms = [x * 1000 for x in latencies_s]
    extra = f", {failures} trials timed out" if failures else ""
    return (f"  {name:<9} n={len(ms)} p50 {percentile(ms, 50):.2f} ms  p99 {percentile(ms, 99):.2f} ms  "
            f"max {max(ms):.2f} ms{extra}")
