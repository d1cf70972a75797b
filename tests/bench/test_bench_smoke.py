"""The benchmarks cannot rot: the quick mode of the cheap parts runs and yields numbers.

Figures are checked for being numbers of the right kind, never against wall-clock limits.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmarks import analysers, proxy_load
from benchmarks._common import Figure, Part, interleaved, paired_ratio, percentile
from benchmarks.run_all import render_markdown


def _figures(parts: list[Part]) -> dict[str, Figure]:
    return {f.name: f for p in parts for f in p.figures}


def _finite(figures: dict[str, Figure]) -> None:
    assert figures
    for f in figures.values():
        assert math.isfinite(f.value), f.name


def test_percentile_is_nearest_rank() -> None:
    values = [float(x) for x in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_interleaved_rotates_the_order_and_pairs_rounds() -> None:
    order: list[tuple[str, int]] = []
    times = interleaved(
        {"a": lambda r: order.append(("a", r)), "b": lambda r: order.append(("b", r))}, 2
    )
    assert order == [("a", 0), ("b", 0), ("b", 1), ("a", 1)]
    assert {k: len(v) for k, v in times.items()} == {"a": 2, "b": 2}
    assert paired_ratio({"a": [2.0, 4.0], "b": [1.0, 1.0]}, "a", "b") == 3.0


def test_analysers_quick_judges_the_synthetic_ledger_and_scans(tmp_path: Path) -> None:
    figures = _figures(analysers.run(quick=True))
    _finite(figures)
    judged = figures["read + judge a 10,000-flow ledger, median"]
    assert judged.value > 0
    assert judged.detail == "verdict pass"  # a compliant synthetic ledger must pass
    assert figures["canary scan, raw bytes (one multi-pattern pass)"].unit == "MB/s"


def test_proxy_quick_measures_latency_and_memory() -> None:
    # On a thread of its own, as `make bench` runs it: this worker may already hold a running
    # event loop (pytest-playwright's sync Playwright, started by an earlier test).
    with ThreadPoolExecutor(1) as pool:
        parts = pool.submit(proxy_load.run, quick=True).result()
    figures = _figures(parts)
    _finite(figures)
    started_by_the_test = ("started by the test, own process", "started by the test, on its thread")
    for name in ("direct", "bare proxy", "harness", *started_by_the_test):
        assert figures[f"{name}: request p50"].value > 0
        assert figures[f"{name}: request p99"].value >= figures[f"{name}: request p50"].value
    assert "binary flows" in " ".join(figures)
    assert figures["HAR side file written (both runs)"].value > 0  # the HAR capture ran
    assert figures["ledger written (both runs)"].value > 0  # and so did the recorder
    doc = render_markdown(parts, quick=True, seconds=1.0)
    assert "| harness: request p50 |" in doc
    assert "Load average" in doc


def test_a_part_that_stops_is_reported_and_the_others_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import run_all

    def fine(quick: bool) -> list[Part]:
        return [Part("fine part", [Figure("a figure", 1.5, "s")])]

    def broken(quick: bool) -> list[Part]:
        raise RuntimeError("make demo exited 2")

    monkeypatch.setattr(run_all, "PARTS", {"broken": broken, "fine": fine})
    assert run_all.main(["--no-write"]) == 1
    out, err = capsys.readouterr()
    assert "== broken: not measured" in out
    assert "RuntimeError: make demo exited 2" in out
    assert "a figure" in out  # the part after the broken one still ran
    assert "not measured: broken" in err
