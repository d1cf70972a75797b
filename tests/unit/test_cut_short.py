"""A scenario cut short gives no screen measurements; its wire flows and canary hits still count."""

from __future__ import annotations

from builders import flow_record

from paywitness.ledger import FlowRecord
from paywitness.run import set_aside_cut_short


def _rec(i: int, kind: str, test: str, **extra: object) -> FlowRecord:
    return flow_record(kind=kind, id=f"r{i}", ts=1.0, test=test, **extra)


def test_only_probe_figures_of_unfinished_scenarios_are_set_aside() -> None:
    records = [
        _rec(1, "client", "t::crashed", probe="vital"),
        _rec(2, "client", "t::crashed", probe="request"),
        _rec(3, "http", "t::crashed"),
        _rec(4, "client", "t::fine", probe="vital"),
    ]
    leak = _rec(5, "client", "t::crashed", probe="postMessage")
    leak.canary_hits = [{"kind": "card"}]
    kept = set_aside_cut_short([*records, leak], ["t::crashed"])
    assert [r.id for r in kept if r.extra.get("probe") != "cut-short"] == ["r2", "r3", "r4", "r5"]
    # A marker per unfinished test: its seamless checks are not judged, never passed.
    assert [r.test for r in kept if r.extra.get("probe") == "cut-short"] == ["t::crashed"]
    assert set_aside_cut_short(records, []) == records
