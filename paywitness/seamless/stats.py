"""The statistical rule of the seamless timings: a rank test on scaled samples, no fixed slack.

A timing fails when the target is *significantly slower than `ratio` x the baseline*: the
one-sided Mann-Whitney U test of `target / ratio` against `baseline` gives p <= alpha, the
target's median is above `ratio` x the baseline's median, and the medians differ by more than
`noticeable` (the smallest difference a buyer can notice: a ratio on figures of a few
milliseconds, 4 ms against 2 ms, is scheduling noise nobody sees). Scaling the target before ranking
makes the null hypothesis "at most `ratio` times slower" instead of "not slower", so scheduling
noise of a few percent is never significant and a 2x slower step is, from 3 repeats a side.

With fewer samples than the test can ever call significant at `alpha` (1 or 2 per side at 0.05)
the rule falls back to the median ratio alone, and every report says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

__all__ = [
    "Comparison",
    "Distribution",
    "compare_samples",
    "describe",
    "mann_whitney_greater",
    "min_p_value",
]


@dataclass(frozen=True)
class Distribution:
    """Median, spread (min..max) and size of one side's samples."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values)) if self.values else 0.0

    @property
    def low(self) -> float:
        return min(self.values, default=0.0)

    @property
    def high(self) -> float:
        return max(self.values, default=0.0)

    def text(self, unit: str = "") -> str:
        """`median 180 ms (140..230, n=3)`, or `180 ms (n=1)` for a single sample."""
        if self.n == 1:
            return f"{_g(self.median)}{unit} (n=1)"
        return f"median {_g(self.median)}{unit} ({_g(self.low)}..{_g(self.high)}, n={self.n})"

    def to_dict(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "n": self.n,
            "values": list(self.values),
        }


def _g(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1 else f"{round(v):d}" if v == round(v) else f"{v:.1f}"


def describe(values: Sequence[float]) -> Distribution:
    return Distribution(tuple(float(v) for v in values))


@cache
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) rank arrangements give each U statistic (no ties)."""
    # f(i, j)[u]: arrangements of i x-values and j y-values with U = u (x above y pairs).
    table: dict[tuple[int, int], list[int]] = {}
    for i in range(n1 + 1):
        for j in range(n2 + 1):
            if i == 0 or j == 0:
                table[(i, j)] = [1]
                continue
            # The largest value is an x (it beats all j y's) or a y (adds nothing).
            a, b = table[(i - 1, j)], table[(i, j - 1)]
            size = i * j + 1
            row = [0] * size
            for u, c in enumerate(a):
                row[u + j] += c
            for u, c in enumerate(b):
                row[u] += c
            table[(i, j)] = row
    return tuple(table[(n1, n2)])


def mann_whitney_greater(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided p-value that `x` tends to be larger than `y` (exact up to 20 per side)."""
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        return 1.0
    u = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)
    if n1 <= 20 and n2 <= 20:
        counts = _u_counts(n1, n2)
        total = math.comb(n1 + n2, n1)
        # Ties count half: P(U >= u) with u rounded down keeps the test conservative.
        at_least = sum(counts[math.floor(u) :])
        return at_least / total
    mean = n1 * n2 / 2
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    z = (u - mean - 0.5) / sd
    return 0.5 * math.erfc(z / math.sqrt(2))


def min_p_value(n1: int, n2: int) -> float:
    """The smallest one-sided p the exact test can give for these sizes (all x above all y)."""
    if not n1 or not n2:
        return 1.0
    return 1 / math.comb(n1 + n2, n1)


@dataclass(frozen=True)
class Comparison:
    """One figure of the target against the baseline under the stated rule."""

    target: Distribution
    baseline: Distribution
    ratio: float
    alpha: float
    p_value: float
    tested: bool  # False: too few samples for the rank test to ever reach alpha
    worse: bool
    noticeable: float = 0.0  # the smallest difference of medians that can fail

    @property
    def median_ratio(self) -> float:
        b = self.baseline.median
        return self.target.median / b if b > 0 else (math.inf if self.target.median > 0 else 1.0)

    @property
    def difference(self) -> float:
        return self.target.median - self.baseline.median

    def rule_text(self, unit: str = " ms") -> str:
        mr = "inf" if math.isinf(self.median_ratio) else f"{self.median_ratio:.2f}"
        floor = (
            f"; difference {_g(self.difference)}{unit}"
            f" (noticeable from {_g(self.noticeable)}{unit})"
            if self.noticeable
            else ""
        )
        if self.tested:
            return (
                f"median ratio {mr}x (limit {self.ratio:g}x), one-sided Mann-Whitney p="
                f"{self.p_value:.3f} on target/{self.ratio:g} vs baseline (alpha {self.alpha:g})"
                + floor
            )
        return (
            f"median ratio {mr}x (limit {self.ratio:g}x){floor}; only n={self.target.n}/"
            f"{self.baseline.n}: too few repeats for the rank test, judged on the ratio alone"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target.to_dict(),
            "baseline": self.baseline.to_dict(),
            "ratio_limit": self.ratio,
            "median_ratio": None if math.isinf(self.median_ratio) else self.median_ratio,
            "alpha": self.alpha,
            "p_value": self.p_value,
            "significance_tested": self.tested,
            "noticeable": self.noticeable,
            "worse": self.worse,
        }


def compare_samples(
    target: Sequence[float],
    baseline: Sequence[float],
    *,
    ratio: float,
    alpha: float,
    noticeable: float = 0.0,
) -> Comparison:
    """Is the target more than `ratio` times the baseline, significantly and noticeably (see
    module doc)?"""
    t, b = describe(target), describe(baseline)
    tested = min_p_value(t.n, b.n) <= alpha
    p = mann_whitney_greater([v / ratio for v in t.values], list(b.values))
    above = t.median > ratio * b.median and t.median - b.median > noticeable
    worse = above and (p <= alpha if tested else True)
    return Comparison(t, b, ratio, alpha, p, tested, worse, noticeable)
