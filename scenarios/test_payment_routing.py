"""Payment routing: a card purchase from the social storefront is paid in the commerce back end."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer, TestCard
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.witness import Witness


@pytest.mark.paywitness_category("payment")
@pytest.mark.payment_method("card")
def test_card_purchase_is_paid_in_commerce(
    page: Page, witness: Witness, paywitness_profile: Profile, buyer: Buyer, card: TestCard
) -> None:
    result = run_purchase(page, witness, paywitness_profile.flow, BuyerValues.of(buyer, card))
    assert result.order_number, "the confirmation showed no order number"
    witness.assert_pass()
