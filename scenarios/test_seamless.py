"""Seamless: the buyer pays in commerce without noticing, measured against the old shop.

Pays once with the profile's default method (the first whose purchase ends in a confirmation),
so it runs on any shop whose profile describes a purchase.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer
from paywitness.canaries import Canary
from paywitness.flow import default_method, run_purchase
from paywitness.profile import Profile
from paywitness.pytest_plugin.seamless import BaselineRun
from paywitness.scenario import buyer_values
from paywitness.witness import Witness


@pytest.mark.paywitness_category("seamless")
def test_purchase_feels_like_before_the_migration(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_baseline: BaselineRun,
    paywitness_seed: int,
    buyer: Buyer,
) -> None:
    method = default_method(paywitness_profile.flow)
    values = buyer_values(paywitness_profile, buyer, paywitness_seed, method)
    if values.card_number:
        witness.plant([Canary("card", values.card_number)])  # the card typed is a canary too
    # The purchase N times, and as often on the baseline (the demo's pre-migration shop),
    # interleaved old/new so both sides see the same load; a lent baseline bundle instead
    # brings its own runs. The first target run is this test's own page and witness.
    # Each side is driven by its own profile's flow (a live old target may differ in selectors).
    results = paywitness_baseline.compare(
        lambda p, w: run_purchase(p, w, w.profile.flow, values, method=method)
    )
    if paywitness_profile.flow and paywitness_profile.flow.order_number:
        assert all(r.order_number for r in results), "a confirmation showed no order number"
    witness.assert_pass()
