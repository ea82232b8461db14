"""Result records of the validation hierarchy and their text table.

A :class:`Check` is one row: a computed number, the expected (analytic) value, the tolerance
and the verdict. ``kind`` says how the comparison was made:

- ``"abs"``: pass if |computed - expected| <= tolerance;
- ``"rel"``: pass if |computed - expected| <= tolerance * |expected|;
- ``"between"``: pass if lo <= computed <= hi with ``expected = (lo, hi)`` (bounds);
- ``"range"``: pass if ``expected - tolerance <= computed <= expected + tolerance`` (rates);
- ``"info"``: a reported number (a dimensionless group), no verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Check:
    level: int
    quantity: str
    computed: float
    expected: float | tuple[float, float] | None
    tolerance: float | None
    kind: str = "rel"
    note: str = ""

    @property
    def passed(self) -> bool | None:
        c = self.computed
        if self.kind == "info":
            return None
        if c is None or not math.isfinite(c):
            return False
        if self.kind == "between":
            lo, hi = self.expected
            return bool(lo <= c <= hi)
        e, t = float(self.expected), float(self.tolerance)
        if self.kind == "abs":
            return bool(abs(c - e) <= t)
        if self.kind == "range":
            return bool(e - t <= c <= e + t)
        return bool(abs(c - e) <= t * abs(e))

    def cells(self) -> list[str]:
        def num(v):
            return "-" if v is None else f"{v:.6g}"

        if self.kind == "between":
            exp = f"[{self.expected[0]:.5g}, {self.expected[1]:.5g}]"
            tol = "bounds"
        elif self.kind == "info":
            exp, tol = "-", "-"
        else:
            exp = num(self.expected)
            tol = {"abs": f"{self.tolerance:.1e} abs", "rel": f"{self.tolerance:.1e} rel",
                   "range": f"+/-{self.tolerance:g}"}[self.kind]
        verdict = {True: "yes", False: "NO", None: "info"}[self.passed]
        return [str(self.level), self.quantity, num(self.computed), exp, tol, verdict]


@dataclass
class LevelResult:
    """One level: its checks, or why it is not available; wall time in seconds."""

    level: int
    title: str
    checks: list[Check] = field(default_factory=list)
    available: bool = True
    reason: str = ""
    seconds: float = 0.0
    plots: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if not self.available:
            return None
        return all(c.passed is not False for c in self.checks)


HEADER = ["level", "quantity", "computed", "expected", "tolerance", "pass"]


def format_table(results: list[LevelResult]) -> list[str]:
    """Plain-text table of every check, with one line per unavailable level."""
    rows: list[tuple[list[str], str]] = [(HEADER, "")]
    for r in results:
        if not r.available:
            rows.append(([str(r.level), f"{r.title}: not available", "-", "-", "-", "n/a"], r.reason))
            continue
        rows.extend((c.cells(), "") for c in r.checks)
        if r.reason and rows:
            rows[-1] = (rows[-1][0], r.reason)
    width = [max(len(row[i]) for row, _ in rows) for i in range(len(HEADER))]
    lines = []
    for k, (row, extra) in enumerate(rows):
        lines.append("  ".join(row[i].ljust(width[i]) for i in range(len(row))).rstrip())
        if extra:
            lines.append(" " * (width[0] + 2) + "  (" + extra + ")")
        if k == 0:
            lines.append("  ".join("-" * w for w in width))
    return lines
