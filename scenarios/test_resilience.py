"""Resilience: with faults injected at the proxy, the buyer is charged once, told, and can retry.

Each scenario fails one request on purpose (`@pytest.mark.faults`, rules by the profile's
endpoint names) and then judges: exactly one successful charge per order in the ledger (and, on
the demo shop, in the gateway's own books), the order paid once, a clear message within 10 s,
and no payment-class request to a forbidden role while an allowed one was failing.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from paywitness.analysers.resilience import server_status
from paywitness.buyers import Buyer, TestCard
from paywitness.flow import BuyerValues, scope_for
from paywitness.ledger import FlowRecord
from paywitness.profile import FlowHints, Profile
from paywitness.session import Target
from paywitness.witness import Witness

pytestmark = [pytest.mark.paywitness_category("payment"), pytest.mark.payment_method("card")]

_MESSAGE_WITHIN_MS = 10_000
_CONFIRM_WITHIN_MS = 30_000


def _hints(profile: Profile) -> FlowHints:
    hints = profile.flow
    if hints is None or hints.payment_error is None:
        pytest.skip("the profile's flow hints name no payment_error element to read messages from")
    return hints


def _open_checkout(
    page: Page, witness: Witness, hints: FlowHints, values: BuyerValues
) -> Page | FrameLocator:
    """browse -> checkout with every field filled; returns the checkout's scope."""
    checkout = scope_for(page, hints.checkout_frames)
    with witness.step("browse"):
        page.goto(witness.start_url)
        page.locator(hints.product_ready).first.wait_for()
    with witness.step("checkout"):
        page.locator(hints.buy).first.click()
        checkout.locator(hints.checkout_ready).wait_for()
        for kind, spec in hints.fields.items():
            frames = hints.checkout_frames if spec.frames is None else spec.frames
            field = scope_for(page, frames).locator(spec.selector)
            field.fill(getattr(values, kind))
            # The first failure must be the injected one, not a field the page lost.
            expect(field).to_have_value(getattr(values, kind))
    return checkout


def _pay_through_one_failure(checkout: Page | FrameLocator, hints: FlowHints) -> str:
    """Pay, see a clear message, pay again, reach the confirmation; returns the order number."""
    assert hints.payment_error is not None
    checkout.locator(hints.pay).click()
    error = checkout.locator(hints.payment_error)
    expect(error).to_be_visible(timeout=_MESSAGE_WITHIN_MS)
    expect(error).not_to_have_text("")
    expect(checkout.locator(hints.pay)).to_be_enabled(timeout=_MESSAGE_WITHIN_MS)
    checkout.locator(hints.pay).click()
    return _confirmed(checkout, hints)


def _confirmed(checkout: Page | FrameLocator, hints: FlowHints) -> str:
    checkout.locator(hints.confirmation).wait_for(timeout=_CONFIRM_WITHIN_MS)
    assert hints.order_number, "the profile's flow hints name no order_number element"
    return checkout.locator(hints.order_number).inner_text().strip()


def _successful_charges(records: list[FlowRecord], profile: Profile) -> list[FlowRecord]:
    endpoint = profile.payment.charge_endpoint or "charge"
    distinct: dict[object, FlowRecord] = {}
    for r in records:
        status = server_status(r)
        if r.kind != "http" or r.payment_class != endpoint or status is None:
            continue
        if 200 <= status < 300 and not r.extra.get("idempotent_replayed"):
            distinct.setdefault(r.extra.get("response_sha256") or r.id, r)
    return list(distinct.values())


def _judge(witness: Witness, target: Target, profile: Profile, order_number: str) -> None:
    records = witness.records()
    assert any("fault" in r.extra for r in records), "the fault was never injected"
    charges = _successful_charges(records, profile)
    assert len(charges) == 1, f"{len(charges)} successful charges in the ledger: {charges}"
    allowed = set(profile.payment.allowed_roles)
    strays = [r for r in records if r.payment_class and r.role not in allowed]
    assert not strays, f"payment-class requests to a forbidden role: {strays}"
    if target.demo is not None:
        books = target.demo.charges_for(order_number)
        succeeded = [c for c in books if c["status"] == "succeeded"]
        assert len(succeeded) == 1, f"the gateway holds {len(succeeded)} charges: {books}"
        order = target.demo.order(order_number)
        assert order is not None
        assert order["status"] == "paid"
    witness.assert_pass()


@pytest.fixture
def values(buyer: Buyer, card: TestCard) -> BuyerValues:
    """What the buyer types."""
    return BuyerValues.of(buyer, card)


def _one_failure(rule: str, name: str) -> object:
    return pytest.param(rule, marks=pytest.mark.faults(rule), id=name)


# One request fails on purpose; the buyer is told, pays again and is charged exactly once.
ONE_FAILURE = [
    _one_failure("role=gateway endpoint=charge status=502 first=1", "gateway-502-then-retry"),
    _one_failure(
        "role=gateway endpoint=charge timeout=2000 phase=response first=1",
        "gateway-timeout-after-charging",
    ),
    _one_failure("role=commerce endpoint=create-order status=503 first=1", "commerce-503-order"),
    _one_failure("role=commerce endpoint=pay reset phase=response first=1", "dropped-during-pay"),
]


@pytest.mark.parametrize("fault", ONE_FAILURE)
def test_one_failed_request_then_paid_once(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_target: Target,
    values: BuyerValues,
    fault: str,  # injected by the proxy through the parameter's own `faults` marker
) -> None:
    hints = _hints(paywitness_profile)
    checkout = _open_checkout(page, witness, hints, values)
    with witness.step("pay"):
        order_number = _pay_through_one_failure(checkout, hints)
    _judge(witness, paywitness_target, paywitness_profile, order_number)


@pytest.mark.faults("role=gateway endpoint=charge delay=800 first=1")
def test_double_click_on_pay_charges_once(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_target: Target,
    values: BuyerValues,
) -> None:
    hints = _hints(paywitness_profile)
    checkout = _open_checkout(page, witness, hints, values)
    with witness.step("pay"):
        # The slow charge keeps the first click in flight while the second lands.
        checkout.locator(hints.pay).dblclick()
        order_number = _confirmed(checkout, hints)
    _judge(witness, paywitness_target, paywitness_profile, order_number)
