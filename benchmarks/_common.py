"""Shared helpers of the benchmarks: figures, interleaved timing, medians, percentiles, load."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Figure",
    "Part",
    "interleaved",
    "load_average",
    "paired_ratio",
    "percentile",
    "print_parts",
    "rss_kib",
]


@dataclass
class Figure:
    """One measured number, as printed and written to docs/performance.md."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    detail: str = ""

    def line(self) -> str:
        mark = {True: "met", False: "NOT met", None: ""}[self.met]
        target = f"  (target {self.target}: {mark})" if self.target else ""
        detail = f"  [{self.detail}]" if self.detail else ""
        return f"{self.name:<58} {self.value:>10.3f} {self.unit:<8}{target}{detail}"


@dataclass
class Part:
    """A benchmark part's result: its figures and the notes that explain them."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load_before: str = ""
    load_after: str = ""


def load_average() -> str:
    """The 1/5/15-minute load average and the core count, as one string."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank of the sorted values."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def interleaved(
    variants: Mapping[str, Callable[[int], object]], rounds: int
) -> dict[str, list[float]]:
    """Wall-clock seconds of each variant, run A, B, C, B, C, A, ... for `rounds` rounds.

    The order rotates every round so no variant always runs first on a warm (or busy) machine.
    """
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            variants[name](r)
            times[name].append(time.perf_counter() - t0)
    return times


def paired_ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of a/b measured in the same round (robust to a machine that drifts)."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def print_parts(parts: Sequence[Part]) -> None:
    """A part's figures and notes as the standalone scripts print them."""
    for part in parts:
        print(f"== {part.title}  (load {part.load_before} -> {part.load_after})")
        for f in part.figures:
            print(f.line())
        for note in part.notes:
            print(f"   {note}")
