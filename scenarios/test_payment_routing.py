"""Payment routing: every payment method, started in the social storefront, is paid in commerce.

Runs once per payment method x device x locale (`--paywitness-device`, `--paywitness-locale`);
the device and locale reach the browser context through pytest-playwright's own marker.

The methods, their test instruments and the buyer's steps come from the profile's `flow`
section, so the same scenario runs against any shop that a profile describes.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer
from paywitness.canaries import Canary
from paywitness.flow import run_purchase, scope_for
from paywitness.profile import Profile
from paywitness.scenario import buyer_values
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
    values = buyer_values(paywitness_profile, buyer, paywitness_seed, payment_method)
    if values.card_number:
        witness.plant([Canary("card", values.card_number)])  # the card typed is a canary too
    result = run_purchase(page, witness, hints, values, method=payment_method)
    if how.expect == "confirmation":
        if hints.order_number:
            assert result.order_number, "the confirmation showed no order number"
    else:
        if hints.payment_error:
            assert result.message, "the buyer was shown an empty payment error"
        if hints.confirmation:
            scope = scope_for(page, hints.checkout_frames)
            assert not scope.locator(hints.confirmation).is_visible(), "a failed payment confirmed"
    witness.assert_pass()
