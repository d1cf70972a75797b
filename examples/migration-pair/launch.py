"""Start the migration-pair example (Pasar Kita) before or after its payment migration.

    python examples/migration-pair/launch.py --stage before -- paywitness baseline record ...
    python examples/migration-pair/launch.py --stage after [--variant V] -- paywitness run ...
        # serve, run the command with the --resolve arguments appended, exit with its code

Pasar Kita is a server-rendered storefront that swaps HTML fragments into its page (no SPA, no
iframe): the checkout form and the confirmation are fragments fetched from the checkout origin.
*Before* the migration the storefront's own server renders them and charges the card itself;
*after* it, the commerce back end (checkout.toko.example) renders the very same fragments and
takes the payment, so the buyer sees the same page. Variants of *after* break seamlessness on
purpose: `slow-checkout` (the checkout fragment answers 2 s later), `layout-shift` (a badge
image without a reserved size arrives late and pushes the form down) and `extra-redirect` (the
buy button bounces the whole page through commerce and back).

Names (*.pasarkita.example, *.toko.example) never resolve: the browser reaches them only through
paywitness's proxy, which dials the 127.0.0.1 addresses this launcher prints.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import secrets
import socket
import sys
import zlib
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
SHOP = "www.pasarkita.example"
CHECKOUT = "checkout.toko.example"
COMPANIES = {"social": (SHOP,), "commerce": (CHECKOUT,)}
SERVER_HEADER = {"social": "pasarkita-web/1", "commerce": "toko-checkout/2"}
PRODUCT = {"sku": "TEH-100", "name": "Teh Melati 100 g", "price": 35000}
VARIANTS = ("slow-checkout", "layout-shift", "extra-redirect")
SLOW_CHECKOUT_S = 2.0
BADGE_DELAY_S = 0.8  # after the buy tap's 500 ms input window, so the shift counts
FIELDS = ("name", "email", "phone", "address", "card_number", "card_expiry", "card_cvc")


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG (no image library needed by the example)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


BADGE = _png(720, 360, (233, 196, 106))


def checkout_fragment(post_url: str, badge_url: str | None) -> str:
    """The checkout form, the same markup whoever renders it (only where it posts differs)."""
    badge = f'<img class="badge" src="{html.escape(badge_url)}" alt="">' if badge_url else ""
    inputs = "".join(
        f'<label for="{f}">{f.replace("_", " ")}</label>'
        f'<input id="{f}" name="{f}" autocomplete="off" required>'
        for f in FIELDS
    )
    return (
        f'<div class="sheet" data-testid="checkout-sheet">{badge}'
        f"<h2>Pembayaran</h2><p>{PRODUCT['name']}: Rp 35.000</p>"
        f'<form data-post="{html.escape(post_url)}">{inputs}'
        '<p><button type="submit" data-testid="pay">Bayar</button></p></form></div>'
    )


def confirmation_fragment(order: str) -> str:
    return (
        '<div class="sheet" data-testid="confirmation"><h2>Terima kasih!</h2>'
        f'<p>Pesanan <b data-testid="order-number">{html.escape(order)}</b> sudah dibayar.</p>'
        "</div>"
    )


class Shop:
    """One stage of the shop: who renders the checkout and who takes the payment."""

    def __init__(self, stage: str, variant: str | None) -> None:
        self.stage = stage
        self.variant = variant
        self.orders: dict[str, dict[str, object]] = {}

    @property
    def checkout_origin(self) -> str:
        return "" if self.stage == "before" else f"https://{CHECKOUT}"

    async def index(self, request: web.Request) -> web.Response:
        text = (STATIC / "index.html").read_text(encoding="utf-8")
        start = ""
        if self.variant == "extra-redirect":
            back = f"https://{SHOP}/?checkout=1"
            start = f"https://{CHECKOUT}/session/start?return={back}"
        text = text.replace("__CHECKOUT_ORIGIN__", self.checkout_origin)
        text = text.replace("__CHECKOUT_START__", start)
        return web.Response(text=text, content_type="text/html")

    async def shop_js(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "shop.js")

    async def checkout_form(self, request: web.Request) -> web.Response:
        if request.query.get("sku") != PRODUCT["sku"]:
            return web.Response(status=400, text="unknown product")
        if self.variant == "slow-checkout":
            await asyncio.sleep(SLOW_CHECKOUT_S)
        base = f"https://{request.host}"
        badge = f"{base}/checkout/badge.png" if self.variant == "layout-shift" else None
        fragment = checkout_fragment(f"{base}/checkout/pay", badge)
        return web.Response(text=fragment, content_type="text/html")

    async def badge(self, request: web.Request) -> web.Response:
        await asyncio.sleep(BADGE_DELAY_S)
        return web.Response(body=BADGE, content_type="image/png")

    async def pay(self, request: web.Request) -> web.Response:
        form = await request.post()
        number = str(form.get("card_number", "")).replace(" ", "")
        if not number.isdigit() or len(number) < 13:
            return web.Response(status=402, text="<p>Kartu ditolak</p>", content_type="text/html")
        order = "PK-" + secrets.token_hex(4).upper()
        self.orders[order] = {"amount": PRODUCT["price"], "last4": number[-4:]}
        return web.Response(text=confirmation_fragment(order), content_type="text/html")

    async def session_start(self, request: web.Request) -> web.Response:
        back = request.query.get("return", f"https://{SHOP}/")
        if not back.startswith(f"https://{SHOP}/"):
            return web.Response(status=400, text="return must be the storefront")
        raise web.HTTPFound(back, headers={"Set-Cookie": "toko_session=1; Secure; HttpOnly"})


@web.middleware
async def cors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    allow = {
        "Access-Control-Allow-Origin": f"https://{SHOP}",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET, POST",
    }
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=allow)
    response = await handler(request)
    response.headers.update(allow)
    return response


def build_apps(shop: Shop) -> dict[str, web.Application]:
    """Social always serves the storefront; the checkout routes live where the stage says."""
    social, commerce = web.Application(), web.Application(middlewares=[cors])
    social.router.add_get("/", shop.index)
    social.router.add_get("/shop.js", shop.shop_js)
    checkout_app = social if shop.stage == "before" else commerce
    checkout_app.router.add_get("/checkout/form", shop.checkout_form)
    checkout_app.router.add_get("/checkout/badge.png", shop.badge)
    checkout_app.router.add_post("/checkout/pay", shop.pay)
    commerce.router.add_get("/session/start", shop.session_start)
    apps = {"social": social, "commerce": commerce}
    for company, app in apps.items():

        async def stamp(
            request: web.Request, response: web.StreamResponse, c: str = company
        ) -> None:
            response.headers["Server"] = SERVER_HEADER[c]

        app.on_response_prepare.append(stamp)
    return apps


async def serve(shop: Shop) -> tuple[list[web.AppRunner], list[str]]:
    """Every company on 127.0.0.1, port 0; the --resolve entries that reach them."""
    runners, resolve = [], []
    for company, app in build_apps(shop).items():
        # IPPROTO_TCP explicitly: with proto 0 asyncio skips TCP_NODELAY (Nagle stalls).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        runners.append(runner)
        port = sock.getsockname()[1]
        resolve += [f"{h}=http://127.0.0.1:{port}" for h in COMPANIES[company]]
    return runners, resolve


async def main_async(ns: argparse.Namespace) -> int:
    runners, resolve = await serve(Shop(ns.stage, ns.variant))
    args = [a for entry in resolve for a in ("--resolve", entry)]
    try:
        if not ns.command:
            print("\n".join(f"--resolve {e}" for e in resolve), flush=True)
            await asyncio.Event().wait()  # serve until interrupted
            return 0
        command = ns.command[1:] if ns.command[0] == "--" else ns.command
        proc = await asyncio.create_subprocess_exec(*command, *args)
        return await proc.wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--stage", choices=("before", "after"), required=True)
    p.add_argument("--variant", choices=VARIANTS, help="A way the migrated checkout shows")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run while serving")
    ns = p.parse_args()
    if ns.variant and ns.stage != "after":
        p.error("--variant changes the migrated shop; use it with --stage after")
    return asyncio.run(main_async(ns))


if __name__ == "__main__":
    sys.exit(main())
