"""Pages the seamless violations need: a full-page (standalone) checkout and a commerce login."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from paywitness.demo._pages import html_page

__all__ = ["SLOW_HANDOFF_S", "login_page", "standalone_checkout_page"]

# slow-handoff: how late commerce answers the checkout page (the issue asks for >= 3 s).
SLOW_HANDOFF_S = 3.0


def standalone_checkout_page(request: web.Request) -> web.Response:
    """Commerce's own page around the checkout: what a redirect or a popup shows the buyer."""
    query = {k: v for k, v in request.query.items() if k != "standalone"}
    return html_page("standalone_checkout.html", FRAME_URL="/checkout?" + urlencode(query))


def login_page(request: web.Request) -> web.Response:
    """A commerce sign-in the buyer did not expect; it continues by itself after a moment."""
    nxt = request.query.get("next", "/checkout")
    if not nxt.startswith("/checkout"):
        nxt = "/checkout"
    sep = "&" if "?" in nxt else "?"
    return html_page("login.html", status=401, NEXT_JSON=nxt + sep + "login_token=demo")
