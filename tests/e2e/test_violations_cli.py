"""The resilience violations fail the payment category through the CLI, naming the flows."""

from __future__ import annotations

import pytest
from demo_runs import DemoRuns


@pytest.mark.parametrize(
    ("violation", "rule_id", "offending_role"),
    [
        ("double-charge", "payment.double-charge", "gateway"),
        ("fallback-to-social", "payment.fallback-to-social", "social"),
    ],
)
def test_violation_fails_payment_with_offending_flows(
    demo_runs: DemoRuns, violation: str, rule_id: str, offending_role: str
) -> None:
    r = demo_runs.matrix(violation)  # the detection matrix's run of this violation
    assert r.returncode == 1, r.tail
    assert rule_id in r.stdout
    verdict = r.verdict()
    assert verdict["categories"]["payment"]["status"] == "fail"
    (finding,) = [f for f in verdict["findings"] if f["rule_id"] == rule_id]
    assert len(finding["flow_ids"]) == 2
    assert finding["evidence"][-1]["role"] == offending_role
