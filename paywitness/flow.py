"""The standard purchase, driven from a profile's flow hints (no shop-specific code)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from playwright.sync_api import FrameLocator, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from paywitness.errors import ConfigError
from paywitness.profile import FieldSpec, FlowHints

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = ["BuyerValues", "PurchaseResult", "run_purchase", "scope_for"]

_CONFIRM_TIMEOUT_MS = 30_000
# Waiting for the checkout looks in every page of the context in turn (a shop that opens it in
# a popup must still be paid, and judged): each look is a Playwright wait this long.
_CHECKOUT_LOOK_MS = 400
_CHECKOUT_LOOKS = 75


class _Witness(Protocol):
    start_url: str

    def step(self, name: str) -> AbstractContextManager[None]: ...

    def link(self, kind: str, url: str) -> object: ...


@dataclass(frozen=True)
class BuyerValues:
    """What the buyer types, by field kind (the profile maps kinds to selectors)."""

    name: str
    email: str
    phone: str
    address: str
    card_number: str
    card_expiry: str
    card_cvc: str

    @classmethod
    def of(cls, buyer: Buyer, card: TestCard) -> BuyerValues:
        """The values a seeded buyer types, paying with `card`."""
        return cls(
            name=buyer.name,
            email=buyer.email,
            phone=buyer.phone,
            address=f"{buyer.street_address}, {buyer.city} {buyer.postcode}",
            card_number=card.number,
            card_expiry=card.expiry,
            card_cvc=card.cvc,
        )


@dataclass(frozen=True)
class PurchaseResult:
    order_number: str | None
    invoice_url: str | None


def scope_for(page: Page, frames: list[str]) -> Page | FrameLocator:
    """The page, or the (nested) iframe reached through a chain of iframe selectors."""
    scope: Page | FrameLocator = page
    for sel in frames:
        scope = scope.frame_locator(sel)
    return scope


def _field(page: Page, hints: FlowHints, spec: FieldSpec) -> Locator:
    frames = hints.checkout_frames if spec.frames is None else spec.frames
    return scope_for(page, frames).locator(spec.selector)


def _moment(witness: _Witness, name: str, page: Page | None = None) -> None:
    moment = getattr(witness, "moment", None)
    if callable(moment):
        moment(name, page)


def _await_checkout(page: Page, hints: FlowHints) -> Page:
    """The page whose checkout is ready: the buyer's own, or a window the shop opened."""
    for _ in range(_CHECKOUT_LOOKS):
        candidates = [p for p in reversed(page.context.pages) if not p.is_closed()]
        for candidate in candidates:
            ready = scope_for(candidate, hints.checkout_frames).locator(hints.checkout_ready)
            try:
                ready.wait_for(timeout=_CHECKOUT_LOOK_MS)
            except PlaywrightTimeoutError:
                continue
            return candidate
    raise PlaywrightTimeoutError(
        f"the checkout ({hints.checkout_ready!r}) did not become ready in any page"
    )


def _open_tabs(page: Page, witness: _Witness, hints: FlowHints) -> None:
    """After paying, the buyer opens the storefront's tabs (Shop, Orders) and waits for each."""
    if not hints.tabs:
        return
    start = witness.start_url
    for name, tab in hints.tabs.items():
        with witness.step(name):
            if hints.close_checkout and page.locator(hints.close_checkout).is_visible():
                page.locator(hints.close_checkout).click()
            if not page.url.startswith(start.rstrip("/")):
                # The shop took the buyer away (a redirect checkout): going back is a navigation.
                page.goto(start)
            _moment(witness, f"{name}-open")
            page.locator(tab.open).first.click()
            page.locator(tab.ready).first.wait_for()
            _moment(witness, f"{name}-ready", page)


def run_purchase(
    page: Page, witness: _Witness, hints: FlowHints | None, buyer: BuyerValues
) -> PurchaseResult:
    """browse -> checkout -> pay -> confirm (-> tabs), each step labelled, using only the hints."""
    if hints is None:
        raise ConfigError(
            "the profile has no `flow` section, so the standard purchase cannot be driven; "
            "add flow hints (see fixtures/profiles/demo.yaml) or write the scenario in Python"
        )
    with witness.step("browse"):
        page.goto(witness.start_url)
        page.locator(hints.product_ready).first.wait_for()
        _moment(witness, "browse", page)
    with witness.step("checkout"):
        _moment(witness, "buy")
        page.locator(hints.buy).first.click()
        checkout_page = _await_checkout(page, hints)
        _moment(witness, "checkout-ready", checkout_page)
        checkout = scope_for(checkout_page, hints.checkout_frames)
        values = {
            "name": buyer.name,
            "email": buyer.email,
            "phone": buyer.phone,
            "address": buyer.address,
            "card_number": buyer.card_number,
            "card_expiry": buyer.card_expiry,
            "card_cvc": buyer.card_cvc,
        }
        for kind, spec in hints.fields.items():
            _field(checkout_page, hints, spec).fill(values[kind])
    with witness.step("pay"):
        _moment(witness, "pay")
        checkout.locator(hints.pay).click()
        checkout.locator(hints.confirmation).wait_for(timeout=_CONFIRM_TIMEOUT_MS)
        _moment(witness, "confirmation", checkout_page)
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
    _open_tabs(page, witness, hints)
    return PurchaseResult(order_number=order_number, invoice_url=invoice_url)
