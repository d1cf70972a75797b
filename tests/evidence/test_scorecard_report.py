"""Scorecard weighting, history, the CI gate and offline re-judging (`paywitness report`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paywitness.cli import main
from paywitness.evidence.gate import evaluate_gate, gate_exit_code
from paywitness.evidence.manifest import verify_bundle
from paywitness.evidence.scorecard import build_scorecard, scorecard_table
from paywitness.profile import GatePolicy

from .conftest import make_run


def _verdict(**cats: list[str]) -> dict[str, object]:
    return {
        "verdict": "fail" if any("fail" in v for v in cats.values()) else "pass",
        "categories": {
            name: {
                "status": "fail" if "fail" in sts else "pass",
                "checks": [{"id": f"{name}-{i}", "status": s} for i, s in enumerate(sts)],
            }
            for name, sts in cats.items()
        },
        "findings": [],
    }


def test_weights_are_the_ministrys_and_unjudged_counts_as_zero() -> None:
    card = build_scorecard(_verdict(payment=["pass", "pass"], data=["pass", "fail"]))
    assert card["categories"]["payment"]["score"] == 1.0
    assert card["categories"]["data"]["score"] == 0.5
    assert card["categories"]["merchant_ops"]["status"] == "not_judged"
    assert card["categories"]["merchant_ops"]["score"] is None
    assert card["progress"] == pytest.approx(0.6 + 0.1)
    assert card["weighted_coverage"] == pytest.approx(0.8)
    assert card["seamless_gate"] == "not_judged"
    table = scorecard_table(card)
    assert "not judged" in table
    assert "migration progress: 70%" in table


def test_not_observed_checks_are_not_counted_as_passing() -> None:
    card = build_scorecard(_verdict(payment=["pass", "not_observed"]))
    assert card["categories"]["payment"]["score"] == 1.0
    assert card["categories"]["payment"]["judged"] == 1


def test_gate_default_fails_every_category_and_profile_can_downgrade_to_warn() -> None:
    v = _verdict(payment=["pass"], seamless=["fail"])
    v["findings"] = [{"category": "seamless", "severity": "minor", "rule_id": "seamless.lag"}]
    assert evaluate_gate(v, GatePolicy())["result"] == "fail"
    assert gate_exit_code(v, evaluate_gate(v, GatePolicy())) == 1
    warn = GatePolicy(categories={"seamless": "warn"})
    assert evaluate_gate(v, warn)["result"] == "warn"
    assert gate_exit_code(v, evaluate_gate(v, warn)) == 0
    majors_only = GatePolicy(severities=["critical", "major"])
    assert evaluate_gate(v, majors_only)["result"] == "warn"


def test_history_keeps_one_line_per_run(tmp_path: Path) -> None:
    make_run(tmp_path / "reports" / "a", tmp_path)
    make_run(tmp_path / "reports" / "b", tmp_path, payment_host="api.social.test")
    lines = (tmp_path / "reports" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["verdict"] for line in lines] == ["pass", "fail"]


@pytest.mark.parametrize(
    ("payment_host", "code"), [("api.commerce.test", 0), ("api.social.test", 1)]
)
def test_report_reproduces_the_run_verdict_offline(
    tmp_path: Path, payment_host: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path, payment_host=payment_host)
    original = {p: (out / p).read_bytes() for p in ("verdict.json", "MANIFEST.sha256")}
    before = json.loads(original["verdict.json"])
    assert main(["report", str(out)]) == code
    # An addition, never a rewrite: the run's own verdict and manifest are untouched.
    assert {p: (out / p).read_bytes() for p in original} == original
    (record,) = (out / "rejudged").iterdir()
    after = json.loads((record / "verdict.json").read_text())
    assert after["verdict"] == before["verdict"]
    assert after["findings"] == before["findings"]
    assert after["meta"]["rejudged"]["profile"].endswith("profile.yaml")
    assert after["meta"]["rejudged"]["verified"] is True
    assert (record / "report.html").is_file()
    assert (record / "scorecard.json").is_file()
    assert verify_bundle(out).intact, "the record is outside the original manifest"
    assert f"verdict: {before['verdict']}" in capsys.readouterr().out


def test_report_on_a_non_bundle_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a paywitness bundle" in capsys.readouterr().err
