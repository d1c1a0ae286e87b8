"""Verdicts against the brief's targets, shared by the benchmarks' report
modules. Pure (no processes, no I/O), like them."""

from dataclasses import dataclass


@dataclass
class Verdict:
    what: str
    value: str
    goal: str
    met: bool


def verdict_lines(verdicts, what_width, value_width, goal_width):
    """One line per verdict: what, value, goal, then `met` or `MISSED`."""
    return "\n".join(f"  {v.what:<{what_width}} {v.value:>{value_width}}  goal {v.goal:<{goal_width}} "
                     f"{'met' if v.met else 'MISSED'}"
                     for v in verdicts)
