"""Each seamless and merchant_ops violation fails its category with the figure that broke it.

Read from the detection matrix's run of each violation (`paywitness demo`, one run per row,
shared through the session's cache of demo runs): the row's own check must fail with its own
figure, whatever else fired. A seamless row runs the seamless scenario once a side, so a timing
rule can join its failure on noise; this test is what holds each row to its own finding.
"""

from __future__ import annotations

from typing import Any

import pytest
from demo_runs import DemoRuns


def _check(verdict: dict[str, Any], check_id: str) -> dict[str, Any]:
    for category in verdict["categories"].values():
        for check in category["checks"]:
            if check["id"] == check_id:
                return dict(check)
    raise AssertionError(f"no check {check_id}")


# violation -> (category, check that must fail, text the summary must show)
CASES: dict[str, tuple[str, str, str]] = {
    "redirect-checkout": ("seamless", "seamless.address-bar", "https://checkout.commerce.test"),
    "popup-checkout": ("seamless", "seamless.popups", "1 popup(s)"),
    "layout-shift": ("seamless", "seamless.cls", "poor (good <= 0.1, poor > 0.25"),
    "slow-handoff": ("seamless", "seamless.timing", "checkout_document_ms"),
    "extra-login": ("seamless", "seamless.login-prompts", "auth-prompt"),
    "orders-from-social": ("merchant_ops", "merchant_ops.display.order-status", "from social"),
    "catalog-from-social": ("merchant_ops", "merchant_ops.display.product-price", "from social"),
}


@pytest.mark.parametrize("violation", sorted(CASES))
def test_violation_fails_its_category_with_the_figure(demo_runs: DemoRuns, violation: str) -> None:
    category, check_id, figure = CASES[violation]
    run = demo_runs.matrix(violation)
    verdict = run.verdict()
    assert verdict["verdict"] == "fail", run.tail
    assert verdict["categories"][category]["status"] == "fail"
    check = _check(verdict, check_id)
    assert check["status"] == "fail", check["summary"]
    assert figure in check["summary"]
    if violation == "layout-shift":
        assert check["figures"]["page"]["observed"] > 0.25
    if violation == "slow-handoff":
        timing = check["figures"]["checkout_document_ms"]
        assert timing["observed"] >= 3000  # the demo answers the checkout 3 s late
        assert timing["observed"] > timing["limit"]
    if violation == "orders-from-social":
        authority = _check(verdict, "merchant_ops.authority.order-status")
        assert authority["status"] == "fail"
        assert "shows 'created', commerce holds 'paid'" in authority["summary"]
    # Each violation changes one behaviour: the purchase completes, payment routing stays
    # compliant.
    assert verdict["categories"]["payment"]["status"] == "pass"
