"""Each seamless and merchant_ops violation fails its category with the figure that broke it.

One browser for all (pytest-playwright's session browser), the session's demo shop switched
live per test; the purchase is the standard one, driven by the demo profile's flow hints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer, TestCard
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.pytest_plugin.seamless import BaselineRun
from paywitness.verdict import Check, Verdict
from paywitness.witness import Witness


def _check(verdict: Verdict, check_id: str) -> Check:
    for cat in verdict.categories.values():
        for ch in cat.checks:
            if ch.id == check_id:
                return ch
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
# Only these need the pre-migration replay: their figure is compared with the baseline's.
NEEDS_BASELINE = {"slow-handoff"}


@pytest.mark.parametrize("violation", sorted(CASES))
def test_violation_fails_its_category_with_the_figure(
    violation: str,
    page: Page,
    witness: Witness,
    own_ledger: Path,
    demo_violation: Callable[[str], None],
    paywitness_baseline: BaselineRun | None,
    paywitness_profile: Profile,
    buyer: Buyer,
    card: TestCard,
) -> None:
    category, check_id, figure = CASES[violation]
    values = BuyerValues.of(buyer, card)
    demo_violation(violation)
    result = run_purchase(page, witness, paywitness_profile.flow, values)
    assert result.order_number, "the purchase must still complete under the violation"
    if violation in NEEDS_BASELINE:
        assert paywitness_baseline is not None
        paywitness_baseline.replay(lambda p, w: run_purchase(p, w, paywitness_profile.flow, values))
    verdict = witness.judge()
    assert verdict.verdict == "fail"
    assert verdict.categories[category].status == "fail"  # type: ignore[index]
    check = _check(verdict, check_id)
    assert check.status == "fail", check.summary
    assert figure in check.summary
    if violation == "layout-shift":
        assert check.figures["page"]["observed"] > 0.25
    if violation == "slow-handoff":
        timing = check.figures["checkout_document_ms"]
        assert timing["observed"] >= 3000  # the demo answers the checkout 3 s late
        assert timing["observed"] > timing["limit"]
    if violation == "orders-from-social":
        authority = _check(verdict, "merchant_ops.authority.order-status")
        assert authority.status == "fail"
        assert "shows 'created', commerce holds 'paid'" in authority.summary
    # Each violation changes one behaviour: payment routing stays compliant.
    assert verdict.categories["payment"].status == "pass"
