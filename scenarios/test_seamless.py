"""Seamless: the buyer pays in commerce without noticing, measured against the old shop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer, TestCard
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.seamless.fixtures import BaselineRun
from paywitness.witness import Witness


@pytest.mark.paywitness_category("seamless")
@pytest.mark.payment_method("card")
def test_purchase_feels_like_before_the_migration(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_baseline: BaselineRun,
    buyer: Buyer,
    card: TestCard,
) -> None:
    values = BuyerValues.of(buyer, card)
    # The purchase N times, and as often on the baseline (the demo's pre-migration shop),
    # interleaved old/new so both sides see the same load; a lent baseline bundle instead
    # brings its own runs. The first target run is this test's own page and witness.
    # Each side is driven by its own profile's flow (a live old target may differ in selectors).
    results = paywitness_baseline.compare(lambda p, w: run_purchase(p, w, w.profile.flow, values))
    assert all(r.order_number for r in results), "a confirmation showed no order number"
    witness.assert_pass()
