"""The resilience violations fail the payment category through the CLI, naming the flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("violation", "rule_id", "offending_role"),
    [
        ("double-charge", "payment.double-charge", "gateway"),
        ("fallback-to-social", "payment.fallback-to-social", "social"),
    ],
)
def test_violation_fails_payment_with_offending_flows(
    tmp_path: Path, violation: str, rule_id: str, offending_role: str
) -> None:
    out = tmp_path / "bundle"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--violation", violation,
         "--output", str(out), "--method", "card", "-k", "paid_in_commerce"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    assert rule_id in r.stdout
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["categories"]["payment"]["status"] == "fail"
    (finding,) = [f for f in verdict["findings"] if f["rule_id"] == rule_id]
    assert len(finding["flow_ids"]) == 2
    assert finding["evidence"][-1]["role"] == offending_role
