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
    paywitness_baseline: BaselineRun | None,
    buyer: Buyer,
    card: TestCard,
) -> None:
    values = BuyerValues.of(buyer, card)
    result = run_purchase(page, witness, paywitness_profile.flow, values)
    assert result.order_number, "the confirmation showed no order number"
    if paywitness_baseline is not None:
        # The same purchase on the shop as it was before the migration, for comparison.
        paywitness_baseline.replay(lambda p, w: run_purchase(p, w, paywitness_profile.flow, values))
    witness.assert_pass()
