"""Start the spa-shop example (three small aiohttp servers) and print its host overrides.

    python examples/spa-shop/launch.py                 # serve; print --resolve lines; Ctrl-C stops
    python examples/spa-shop/launch.py [--leak-card] -- paywitness run --profile ...
        # serve, run the command with the --resolve arguments appended, exit with its code

Its names (*.sosmed.example, *.toko.example, *.bayar.example) never resolve anywhere: the
browser reaches them only through paywitness's proxy, which dials the addresses printed here.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import sys
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
COMPANIES = {
    "social": ("www.sosmed.example", "px.sosmed.example"),
    "commerce": ("api.toko.example",),
    "gateway": ("js.bayar.example", "api.bayar.example"),
}
SERVER_HEADER = {"social": "sosmed-edge/1", "commerce": "toko-edge/3", "gateway": "bayar-edge/2"}
PRODUCT = {"sku": "KOPI-250", "name": "Kopi Gayo 250 g", "price": 89000}


class Shop:
    """The three companies' state: orders (commerce) and payments (gateway)."""

    def __init__(self, leak_card: bool) -> None:
        self.leak_card = leak_card
        self.orders: dict[str, dict[str, object]] = {}
        self.payments: dict[str, dict[str, object]] = {}

    # --- social: the single-page storefront and its analytics -----------------------------
    async def spa(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # no icon, and no 404 in the buyer's console

    async def app_js(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "app.js")

    async def px_js(self, request: web.Request) -> web.Response:
        text = (STATIC / "px.js").read_text(encoding="utf-8")
        text = text.replace("__LEAK_CARD__", "true" if self.leak_card else "false")
        return web.Response(text=text, content_type="application/javascript")

    async def collect(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    # --- commerce: orders, confirmation, status, invoices ---------------------------------
    async def create_order(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("sku") != PRODUCT["sku"]:
            return web.json_response({"error": "unknown product"}, status=400)
        order_id = "TK-" + secrets.token_hex(4).upper()
        secret = "cs_" + secrets.token_hex(8)
        self.orders[order_id] = {"amount": PRODUCT["price"], "secret": secret, "status": "new"}
        return web.json_response(
            {"order_id": order_id, "amount": PRODUCT["price"], "client_secret": secret},
            status=201,
        )

    async def confirm_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        body = await request.json()
        payment = self.payments.get(str(body.get("payment_id")))
        if order is None or payment is None or payment["secret"] != order["secret"]:
            return web.json_response({"error": "payment not found for this order"}, status=409)
        order["status"] = "paid"
        order_id = request.match_info["order_id"]
        return web.json_response(
            {
                "order_number": order_id,
                "invoice_url": f"https://api.toko.example/v1/invoices/{order_id}",
            }
        )

    async def order_status(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return web.json_response({"error": "no such order"}, status=404)
        return web.json_response({"status": order["status"]})

    async def invoice(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        if order_id not in self.orders:
            return web.Response(status=404, text="no such order")
        return web.Response(
            text=f"<h1>Invoice {order_id}</h1><p>Toko Example PT</p>", content_type="text/html"
        )

    # --- gateway: the in-page payment SDK and its API --------------------------------------
    async def sdk_js(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "bayar.js")

    async def pay(self, request: web.Request) -> web.Response:
        body = await request.json()
        number = str(body.get("card_number", "")).replace(" ", "")
        if not number.isdigit() or len(number) < 13:
            return web.json_response({"status": "failed", "error": "card refused"}, status=402)
        payment_id = "py_" + secrets.token_hex(6)
        self.payments[payment_id] = {"secret": body.get("client_secret"), "last4": number[-4:]}
        return web.json_response({"status": "succeeded", "payment_id": payment_id})

    async def leaked(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})


@web.middleware
async def cors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    allow = {
        "Access-Control-Allow-Origin": "https://www.sosmed.example",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Allow-Methods": "GET, POST",
    }
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=allow)
    response = await handler(request)
    response.headers.update(allow)
    return response


def build_apps(shop: Shop) -> dict[str, web.Application]:
    """One application per company, dispatching by Host, each with its own Server header."""
    subs = {h: web.Application() for hosts in COMPANIES.values() for h in hosts}
    r = {h: app.router for h, app in subs.items()}
    r["www.sosmed.example"].add_get("/", shop.spa)
    r["www.sosmed.example"].add_get("/app.js", shop.app_js)
    r["www.sosmed.example"].add_get("/favicon.ico", shop.favicon)
    r["px.sosmed.example"].add_get("/px.js", shop.px_js)
    r["px.sosmed.example"].add_post("/collect", shop.collect)
    r["px.sosmed.example"].add_post("/v1/payments", shop.leaked)
    r["api.toko.example"].add_post("/v1/orders", shop.create_order)
    r["api.toko.example"].add_post("/v1/orders/{order_id}/confirm", shop.confirm_order)
    r["api.toko.example"].add_get("/v1/orders/{order_id}/status", shop.order_status)
    r["api.toko.example"].add_get("/v1/invoices/{order_id}", shop.invoice)
    r["js.bayar.example"].add_get("/v1/bayar.js", shop.sdk_js)
    r["api.bayar.example"].add_post("/v1/payments", shop.pay)
    apps = {}
    for company, hosts in COMPANIES.items():

        async def stamp(
            request: web.Request, response: web.StreamResponse, c: str = company
        ) -> None:
            response.headers["Server"] = SERVER_HEADER[c]

        app = web.Application(middlewares=[cors])
        app.on_response_prepare.append(stamp)
        for h in hosts:
            app.add_domain(h, subs[h])
        apps[company] = app
    return apps


async def serve(shop: Shop) -> tuple[list[web.AppRunner], list[str]]:
    """Start every company on 127.0.0.1, port 0; the --resolve entries that reach them."""
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
    runners, resolve = await serve(Shop(ns.leak_card))
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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--leak-card", action="store_true", help="Analytics copies the card to social")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run while serving")
    ns = p.parse_args()
    try:
        return asyncio.run(main_async(ns))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
