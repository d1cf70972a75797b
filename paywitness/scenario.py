"""Scenario building blocks: plant canaries into a shop's fields and run the profile's purchase.

A simple shop needs only a profile (the standard scenarios drive it); a complex one writes a
short pytest file with these fixtures::

    def test_gift_checkout(page, witness, purchase):
        page.route("**/promo-banner", lambda route: route.abort())
        result = purchase("card")
        assert result.order_number
        witness.assert_pass()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import pytest

from paywitness.flow import BuyerValues, PurchaseResult, run_purchase, scope_for
from paywitness.profile import FlowHints, Profile

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from paywitness.buyers import Buyer
    from paywitness.witness import Witness

__all__ = ["Purchase", "buyer_values", "plant_canaries", "purchase"]


class Purchase(Protocol):
    """The `purchase` fixture: run the profile's purchase with one payment method."""

    def __call__(self, method: str = "card") -> PurchaseResult: ...


def buyer_values(profile: Profile, buyer: Buyer, seed: int, method: str = "card") -> BuyerValues:
    """The canaries a seeded buyer types when paying with `method` (its test card, if any)."""
    from paywitness.buyers import make_card

    how = profile.flow.methods.get(method) if profile.flow else None
    instrument = how.instrument if how is not None else "success"
    return BuyerValues.of(buyer, make_card(seed, instrument) if instrument else None)


def plant_canaries(
    page: Page, hints: FlowHints, values: BuyerValues, kinds: Iterable[str] | None = None
) -> list[str]:
    """Type the buyer's canary values into the profile's fields (all, or `kinds`); the kinds."""
    wanted = set(kinds) if kinds is not None else set(hints.fields)
    planted: list[str] = []
    for kind, spec in hints.fields.items():
        value = getattr(values, kind)
        if kind not in wanted or value is None:
            continue
        frames = hints.checkout_frames if spec.frames is None else spec.frames
        scope_for(page, frames).locator(spec.selector).fill(value)
        planted.append(kind)
    return planted


@pytest.fixture
def purchase(
    page: Page, witness: Witness, paywitness_profile: Profile, paywitness_seed: int, buyer: Buyer
) -> Purchase:
    """Run the profile's declarative purchase (browse, checkout, pay, confirm) with a method."""

    def _purchase(method: str = "card") -> PurchaseResult:
        values = buyer_values(paywitness_profile, buyer, paywitness_seed, method)
        return run_purchase(page, witness, paywitness_profile.flow, values, method=method)

    return _purchase
