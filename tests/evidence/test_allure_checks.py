"""Every check of the verdict reaches Allure, an unjudged one as such (never as passed)."""

from __future__ import annotations

import json
from pathlib import Path

from paywitness.evidence.allure_evidence import write_allure_checks

VERDICT = {
    "verdict": "inconclusive",
    "categories": {
        "payment": {
            "checks": [
                {"id": "payment.allowed-role", "status": "pass", "summary": "all to commerce"},
                {"id": "payment.double-charge", "status": "fail", "summary": "two charges"},
            ]
        },
        "seamless": {
            "checks": [
                {
                    "id": "seamless.errors",
                    "status": "not_judged",
                    "summary": "seamless.errors not judged: no baseline",
                },
                {
                    "id": "seamless.screens",
                    "status": "not_judged",
                    "summary": "not judged: no baseline screenshots -- waived by the profile: "
                    "no old shop",
                },
            ]
        },
    },
}


def test_each_check_is_a_result_with_its_own_status_and_reason(tmp_path: Path) -> None:
    assert write_allure_checks(tmp_path, VERDICT) == 4
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")]
    by_id = {r["fullName"].removeprefix("paywitness.verdict."): r for r in results}
    assert {k: r["status"] for k, r in by_id.items()} == {
        "payment.allowed-role": "passed",
        "payment.double-charge": "failed",
        "seamless.errors": "unknown",
        "seamless.screens": "skipped",
    }
    assert by_id["seamless.errors"]["statusDetails"]["message"].endswith("no baseline")
    assert by_id["seamless.errors"]["name"] == "seamless.errors: not judged"
    suites = {r["fullName"]: {lab["name"]: lab["value"] for lab in r["labels"]} for r in results}
    assert suites["paywitness.verdict.seamless.errors"]["parentSuite"] == "paywitness verdict"
    # The same check has the same history id run after run: Allure's trend follows it.
    again = tmp_path / "again"
    write_allure_checks(again, VERDICT)
    ids = {json.loads(p.read_text())["historyId"] for p in again.glob("*-result.json")}
    assert ids == {r["historyId"] for r in results}
