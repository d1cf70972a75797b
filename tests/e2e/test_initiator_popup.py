"""The initiator watch and a window the shop opens: attached once it has loaded, then heard.

Pages are served in the browser itself (no network, no proxy); the popup embeds a frame of
another site, which Chromium runs out of process, as the demo's popup checkout embeds its card
frame. Attaching DevTools to that popup while the frame committed aborted the frame's
navigation (1 run in ~30 under load), so the watch lets a popup load before it attaches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Route

from paywitness.initiators import InitiatorWatch

PAGES = {
    "https://shop.example/": """<button id=buy onclick="window.open('/checkout', 'checkout',
        'popup,width=500,height=700')">Buy</button>""",
    "https://shop.example/checkout": """<iframe id=card src="https://pay.example/fields"></iframe>
        <button id=pay onclick="fetch('/api/pay', {method: 'POST'})">Pay</button>""",
    "https://pay.example/fields": """<input id=number>""",
}


def _serve(route: Route) -> None:
    url = route.request.url
    if url.endswith("/api/pay"):
        route.fulfill(json={"ok": True})
    elif url in PAGES:
        route.fulfill(body=PAGES[url], content_type="text/html")
    else:
        route.fulfill(status=404, body="")


def test_a_popup_is_attached_after_it_loaded_and_its_requests_are_heard(
    watched_context: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    context, book, watch = watched_context(_serve)
    states: dict[str, str] = {}
    start = InitiatorWatch._start

    def spying_start(self: InitiatorWatch, page: Page) -> None:
        states[page.url] = page.evaluate("document.readyState")
        start(self, page)

    monkeypatch.setattr(InitiatorWatch, "_start", spying_start)
    try:
        page = context.new_page()
        watch.watch(context)
        page.goto("https://shop.example/")
        with context.expect_page() as opened:
            page.click("#buy")
        popup = opened.value
        card = popup.frame_locator("#card").locator("#number")
        card.wait_for()  # the cross-site frame loaded
        watch.attach(popup)  # as a driver does when it moves to the window: waits for the handler
        with popup.expect_response("**/api/pay"):
            popup.click("#pay")
        popup.wait_for_timeout(200)  # the request's event reaches the handler
    finally:
        context.close()
    # The buyer's own page was attached before its first navigation, the popup once loaded.
    assert states.get("about:blank") is not None, states
    assert states.get("https://shop.example/checkout") == "complete", states
    heard = [n["url"] for n in book.notes if n["kind"] == "initiator"]
    assert "https://shop.example/" in heard
    assert "https://shop.example/api/pay" in heard  # sent from the popup after the attach
