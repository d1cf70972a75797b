"""Payment routing: every payment method, started in the social storefront, is paid in commerce.

Runs once per payment method x device x locale (`--paywitness-device`, `--paywitness-locale`);
the device and locale reach the browser context through pytest-playwright's own marker.

The methods, their test instruments and the buyer's actions come from the profile's `flow`
section, so the same scenario runs against any shop that a profile describes.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer, make_card
from paywitness.canaries import Canary
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.witness import Witness


@pytest.mark.paywitness_category("payment")
@pytest.mark.paywitness_category("data")  # the buyer types every canary here
def test_purchase_is_paid_in_commerce(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_seed: int,
    buyer: Buyer,
    payment_method: str,
    paywitness_device: str,
    paywitness_locale: str,
) -> None:
    hints = paywitness_profile.flow
    assert hints is not None
    how = hints.methods[payment_method]
    card = make_card(paywitness_seed, how.instrument) if how.instrument else None
    if card is not None:
        witness.plant([Canary("card", card.number)])  # the card typed is a canary too
    result = run_purchase(page, witness, hints, BuyerValues.of(buyer, card), method=payment_method)
    if how.expect == "confirmation":
        assert result.order_number, "the confirmation showed no order number"
    else:
        assert result.message, "the buyer was shown an empty payment error"
        if hints.confirmation:
            scope = page.frame_locator(hints.checkout_frames[0]) if hints.checkout_frames else page
            assert not scope.locator(hints.confirmation).is_visible(), "a failed payment confirmed"
    witness.assert_pass()
