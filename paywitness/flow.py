"""The standard purchase, driven from a profile's flow hints (no shop-specific code)."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import FrameLocator, Locator, Page

from paywitness.errors import ConfigError
from paywitness.profile import Action, FieldSpec, FlowHints, MethodHints

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = ["BuyerValues", "PurchaseResult", "run_actions", "run_purchase", "scope_for"]

_CONFIRM_TIMEOUT_MS = 30_000
_CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")
_TEMPLATE = re.compile(r"^\{([a-z_]+)\}$")
_CHECK_ATTEMPTS = 3


class _Witness(Protocol):
    @property
    def start_url(self) -> str: ...

    def step(self, name: str) -> AbstractContextManager[None]: ...

    def link(self, kind: str, url: str) -> object: ...


@dataclass(frozen=True)
class BuyerValues:
    """What the buyer types, by field kind (the profile maps kinds to selectors)."""

    name: str
    email: str
    phone: str
    address: str
    card_number: str | None = None
    card_expiry: str | None = None
    card_cvc: str | None = None
    instrument: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, buyer: Buyer, card: TestCard | None) -> BuyerValues:
        """The values a seeded buyer types, paying with `card` (None: a method without card)."""
        return cls(
            name=buyer.name,
            email=buyer.email,
            phone=buyer.phone,
            address=f"{buyer.street_address}, {buyer.city} {buyer.postcode}",
            card_number=card.number if card else None,
            card_expiry=card.expiry if card else None,
            card_cvc=card.cvc if card else None,
            instrument={"otp": card.otp} if card and card.otp else {},
        )


@dataclass(frozen=True)
class PurchaseResult:
    method: str
    outcome: str  # "confirmation" or "payment_error"
    order_number: str | None
    invoice_url: str | None
    message: str | None = None


def scope_for(page: Page, frames: list[str]) -> Page | FrameLocator:
    """The page, or the (nested) iframe reached through a chain of iframe selectors."""
    scope: Page | FrameLocator = page
    for sel in frames:
        scope = scope.frame_locator(sel)
    return scope


def _field(page: Page, hints: FlowHints, spec: FieldSpec) -> Locator:
    frames = hints.checkout_frames if spec.frames is None else spec.frames
    return scope_for(page, frames).locator(spec.selector)


def _value(action: Action, values: BuyerValues) -> str:
    raw = action.value or ""
    m = _TEMPLATE.match(raw)
    if not m:
        return raw
    if m.group(1) not in values.instrument:
        raise ConfigError(
            f"the flow action value {raw!r} names no field of the test instrument "
            f"(known: {', '.join(sorted(values.instrument)) or 'none'})"
        )
    return values.instrument[m.group(1)]


def _check(box: Locator) -> None:
    # A frame that resizes while it loads can move a radio between Playwright's stability check
    # and the click; like a buyer who missed, click again (only for that exact failure).
    for attempt in range(_CHECK_ATTEMPTS):
        try:
            box.check()
            return
        except PlaywrightError as e:
            if "did not change its state" not in str(e) or attempt == _CHECK_ATTEMPTS - 1:
                raise


def run_actions(page: Page, actions: list[Action], hints: FlowHints, values: BuyerValues) -> None:
    """Perform a method's actions as the buyer would."""
    for a in actions:
        frames = hints.checkout_frames if a.frames is None else a.frames
        scope = scope_for(page, frames)
        if a.click:
            scope.locator(a.click).click()
        elif a.fill:
            scope.locator(a.fill).fill(_value(a, values))
        elif a.check:
            _check(scope.locator(a.check))
        elif a.select:
            scope.locator(a.select).select_option(_value(a, values))
        elif a.wait:
            scope.locator(a.wait).wait_for()
        elif a.open_link:
            href = scope.locator(a.open_link).get_attribute("href")
            if not href:
                raise AssertionError(f"the link {a.open_link!r} has no href")
            tab = page.context.new_page()
            try:
                tab.goto(href)
                run_actions(tab, a.then, hints.model_copy(update={"checkout_frames": []}), values)
            finally:
                tab.close()


def run_purchase(
    page: Page,
    witness: _Witness,
    hints: FlowHints | None,
    buyer: BuyerValues,
    *,
    method: str = "card",
) -> PurchaseResult:
    """browse -> checkout -> pay -> confirm, each step labelled, using only the hints."""
    if hints is None:
        raise ConfigError(
            "the profile has no `flow` section, so the standard purchase cannot be driven; "
            "add flow hints (see fixtures/profiles/demo.yaml) or write the scenario in Python"
        )
    how: MethodHints | None = hints.methods.get(method)
    if how is None:
        raise ConfigError(
            f"the profile's flow has no payment method {method!r} "
            f"(known: {', '.join(hints.methods)})"
        )
    checkout = scope_for(page, hints.checkout_frames)
    with witness.step("browse"):
        page.goto(witness.start_url)
        page.locator(hints.product_ready).first.wait_for()
    with witness.step("checkout"):
        page.locator(hints.buy).first.click()
        checkout.locator(hints.checkout_ready).wait_for()
        values = {
            "name": buyer.name,
            "email": buyer.email,
            "phone": buyer.phone,
            "address": buyer.address,
            "card_number": buyer.card_number,
            "card_expiry": buyer.card_expiry,
            "card_cvc": buyer.card_cvc,
        }
        contact = {k: v for k, v in hints.fields.items() if k not in _CARD_FIELDS}
        card_fields = {k: v for k, v in hints.fields.items() if k in _CARD_FIELDS}
        for kind, spec in contact.items():
            _field(page, hints, spec).fill(values[kind] or "")
        run_actions(page, how.before_pay, hints, buyer)
        for kind, spec in card_fields.items():
            value = values[kind]
            if value is not None:  # None: this method pays without a card
                _field(page, hints, spec).fill(value)
    with witness.step("pay"):
        checkout.locator(hints.pay).click()
        run_actions(page, how.after_pay, hints, buyer)
        wanted = hints.confirmation if how.expect == "confirmation" else hints.payment_error
        assert wanted is not None
        checkout.locator(wanted).wait_for(timeout=_CONFIRM_TIMEOUT_MS)
    if how.expect == "payment_error":
        message = checkout.locator(wanted).inner_text().strip()
        return PurchaseResult(method, "payment_error", None, None, message)
    order_number: str | None = None
    invoice_url: str | None = None
    with witness.step("confirm"):
        if hints.order_number:
            order_number = checkout.locator(hints.order_number).inner_text().strip()
        if hints.invoice_link:
            invoice_url = checkout.locator(hints.invoice_link).get_attribute("href")
            if invoice_url:
                witness.link("invoice", invoice_url)
                # The buyer opens the invoice: a real navigation through the proxy.
                invoice_page = page.context.new_page()
                try:
                    invoice_page.goto(invoice_url)
                finally:
                    invoice_page.close()
    return PurchaseResult(method, "confirmation", order_number, invoice_url)
