"""The whole purchase journey in real Chromium against the real demo servers (no proxy)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import FrameLocator, Page, expect

from paywitness.demo import DemoShop

BUYER = {
    "name": "Sari Widodo",
    "email": "sari.widodo@example.co.id",
    "phone": "+62 812 5550 1234",
    "address": "Jl. Melati No. 7, Bandung 40115",
}


def open_checkout(page: Page) -> FrameLocator:
    page.goto("https://shop.social.test/")
    cards = page.locator("[data-testid=product-card]")
    expect(cards.first).to_be_visible()
    cards.first.locator("[data-testid=buy-button]").click()
    checkout = page.frame_locator("[data-testid=checkout-frame]")
    expect(checkout.locator("[data-testid=pay-button]")).to_be_visible()
    for field, value in BUYER.items():
        checkout.locator(f"input[name={field}]").fill(value)
    return checkout


def pay_by_card(page: Page, number: str, *, otp: str | None = None) -> FrameLocator:
    checkout = open_checkout(page)
    card = checkout.frame_locator("iframe[data-testid=card-frame]")
    card.locator("input[name=card_number]").fill(number)
    card.locator("input[name=expiry]").fill("12/34")
    card.locator("input[name=cvc]").fill("123")
    checkout.locator("[data-testid=pay-button]").click()
    if otp is not None:
        card.locator("input[name=otp]").fill(otp)
        card.locator("[data-testid=otp-submit]").click()
    return checkout


def confirmed_order(page: Page, checkout: FrameLocator) -> tuple[str, str]:
    expect(checkout.locator("[data-testid=confirmation]")).to_be_visible()
    order_id = checkout.locator("[data-testid=order-number]").inner_text().strip()
    invoice = checkout.locator("a[data-testid=invoice-link]").get_attribute("href") or ""
    expect(page.locator("[data-testid=order-confirmed]")).to_contain_text(order_id)
    assert urlsplit(page.url).hostname == "shop.social.test"  # the address bar never moved
    return order_id, invoice


def test_card_purchase_is_paid_at_commerce_and_the_card_number_only_reaches_the_gateway(
    demo_page: Page, shop: DemoShop, make_card: Callable[[str], str]
) -> None:
    number = make_card("424242")
    checkout = pay_by_card(demo_page, number)
    order_id, invoice = confirmed_order(demo_page, checkout)

    order = shop.order(order_id)
    assert order is not None
    assert order["status"] == "paid"
    assert order["merchant_of_record"] == "commerce"
    assert urlsplit(invoice).hostname == "invoice.commerce.test"
    assert invoice == f"https://invoice.commerce.test/invoices/{order_id}"

    carriers = shop.requests_containing(number)
    assert [(e.company, e.host, e.method, e.path) for e in carriers] == [
        ("gateway", "pay.gateway.test", "POST", "/v1/charges")
    ]
    assert not shop.requests_containing(number[-10:].encode()) or all(
        e.company == "gateway" for e in shop.requests_containing(number[-10:])
    )
    (charge,) = shop.charges_for(order_id)
    assert charge["status"] == "succeeded"
    assert charge["card_last4"] == number[-4:]
    assert number not in repr(charge)

    log = shop.access_log()
    hosts = {e.host for e in log if e.via == "browser"}
    assert {"shop.social.test", "checkout.commerce.test", "api.commerce.test"} <= hosts
    assert not [e for e in log if e.company == "social" and "/api/orders" in e.path]
    backend = [(e.company, e.method, e.path) for e in log if e.via == "backend"]
    assert ("gateway", "GET", f"/v1/charges/{charge['id']}") in backend

    demo_page.goto(invoice)
    expect(demo_page.locator("[data-testid=invoice-order-id]")).to_have_text(order_id)


def test_baseline_card_purchase_runs_entirely_on_social(
    demo_page: Page, shop: DemoShop, make_card: Callable[[str], str]
) -> None:
    shop.configure(baseline=True)
    checkout = pay_by_card(demo_page, make_card("424242"))
    frame_src = demo_page.locator("[data-testid=checkout-frame]").get_attribute("src") or ""
    assert frame_src.startswith("https://shop.social.test/checkout?")
    order_id, invoice = confirmed_order(demo_page, checkout)

    order = shop.order(order_id)
    assert order is not None
    assert order["status"] == "paid"
    assert order["merchant_of_record"] == "social"
    assert invoice == f"https://shop.social.test/invoices/{order_id}"
    order_calls = {
        (e.host, e.method, e.path.split("?")[0])
        for e in shop.access_log()
        if "/api/orders" in e.path and e.via == "browser" and e.method != "OPTIONS"
    }
    assert order_calls == {
        ("api.social.test", "POST", "/api/orders"),
        ("api.social.test", "POST", f"/api/orders/{order_id}/pay"),
    }
    assert not [e for e in shop.access_log() if e.host == "checkout.commerce.test"]
