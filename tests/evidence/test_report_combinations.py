"""The HTML report groups scenario outcomes by method, device and locale."""

from __future__ import annotations

from paywitness.evidence.html_report import render_report
from paywitness.evidence.scorecard import build_scorecard


def test_report_groups_by_combination() -> None:
    verdict = {
        "verdict": "pass",
        "categories": {},
        "findings": [],
        "meta": {
            "combinations": {
                "card · Pixel 7 · id-ID": {"passed": 1},
                "card · desktop · id-ID": {"failed": 1, "passed": 2},
            }
        },
    }
    html = render_report(verdict, build_scorecard(verdict), {}, [])
    assert "Scenarios by combination" in html
    assert "<td>card · Pixel 7 · id-ID</td><td>1 passed</td>" in html
    assert "<td>card · desktop · id-ID</td><td>1 failed, 2 passed</td>" in html
