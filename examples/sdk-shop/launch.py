"""Start the sdk-shop example (three companies, aiohttp) and print its host overrides.

    python examples/sdk-shop/launch.py                       # serve; print --resolve lines
    python examples/sdk-shop/launch.py [--stale-orders] [--layout-shift] [--leak-analytics] \
        -- paywitness run --profile examples/sdk-shop/profile.yaml
        # serve, run the command with the --resolve arguments appended, exit with its code

A mobile-web storefront (Ramai, social) where a product sheet opens before the buy button;
the checkout is drawn in the page by the marketplace's SDK (Niaga, commerce), the card fields
sit in the processor's iframe (Kilat, gateway), the issuer's check opens a window that closes
itself, and every SDK call is retried silently. Its names never resolve: the browser reaches
them only through paywitness's proxy, which dials the addresses printed here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import sys
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
COMPANIES = {
    "social": ("m.ramai.example", "px.ramai.example"),
    "commerce": ("sdk.niaga.example", "api.niaga.example"),
    "gateway": ("card.kilat.example",),
}
SERVER_HEADER = {"social": "ramai-edge/4", "commerce": "niaga-api/2", "gateway": "kilat/7"}
STOREFRONT = "https://m.ramai.example"
PRICES = {"BTK-01": 245000, "KPI-02": 78000}


class Shop:
    """The companies' state: checkouts and orders (Niaga), charges (Kilat)."""

    def __init__(self, ns: argparse.Namespace) -> None:
        self.flags = ns
        self.checkouts: dict[str, dict[str, object]] = {}
        self.charges: dict[str, dict[str, object]] = {}
        self.confirmed: dict[str, str] = {}  # idempotency key -> order id

    # --- social ---------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.Response:
        config = {
            "staleOrders": self.flags.stale_orders,
            "layoutShift": self.flags.layout_shift,
        }
        text = (STATIC / "index.html").read_text(encoding="utf-8")
        text = text.replace(
            '<script src="/app.js" defer></script>',
            f"<script>window.RAMAI_CONFIG = {json.dumps(config)};</script>"
            '<script src="/app.js" defer></script>',
        )
        return web.Response(text=text, content_type="text/html")

    async def app_js(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "app.js")

    async def orders_cache(self, request: web.Request) -> web.Response:
        # Ramai's own copy of the orders, taken when each was placed: never updated since.
        buyer = request.query.get("buyer")
        rows = [
            {"order_id": o["order_id"], "status": "pending"}
            for o in self.checkouts.values()
            if o.get("order_id") and o["buyer"] == buyer
        ]
        return web.json_response({"orders": rows})

    async def px_js(self, request: web.Request) -> web.Response:
        text = (STATIC / "px.js").read_text(encoding="utf-8")
        text = text.replace("__LEAK__", "true" if self.flags.leak_analytics else "false")
        return web.Response(text=text, content_type="application/javascript")

    async def collect(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    # --- commerce -------------------------------------------------------------------------
    async def sdk_js(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "niaga.js")

    async def create_checkout(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("sku") not in PRICES:
            return web.json_response({"error": "unknown product"}, status=400)
        checkout_id = "co_" + secrets.token_hex(5)
        secret = "cs_" + secrets.token_hex(8)
        self.checkouts[checkout_id] = {
            "amount": PRICES[body["sku"]],
            "buyer": str(body.get("buyer")),
            "secret": secret,
            "status": "open",
        }
        return web.json_response(
            {"id": checkout_id, "amount": PRICES[body["sku"]], "client_secret": secret},
            status=201,
        )

    def _checkout(self, request: web.Request) -> dict[str, object]:
        checkout = self.checkouts.get(request.match_info["checkout"])
        if checkout is None:
            raise web.HTTPNotFound(text='{"error": "no such checkout"}')
        return checkout

    async def buyer(self, request: web.Request) -> web.Response:
        checkout = self._checkout(request)
        checkout["contact"] = await request.json()
        return web.json_response({"ok": True})

    async def confirm(self, request: web.Request) -> web.Response:
        checkout = self._checkout(request)
        key = request.headers.get("idempotency-key", "")
        if key and key in self.confirmed:
            return web.json_response({"order_id": self.confirmed[key], "status": "paid"})
        body = await request.json()
        charge = self.charges.get(str(body.get("charge")))
        if charge is None or charge["secret"] != checkout["secret"] or not charge["verified"]:
            return web.json_response({"error": "payment not verified"}, status=409)
        order_id = "NG-" + secrets.token_hex(3).upper()
        checkout.update(order_id=order_id, status="paid")
        if key:
            self.confirmed[key] = order_id
        return web.json_response({"order_id": order_id, "status": "paid"})

    async def orders(self, request: web.Request) -> web.Response:
        buyer = request.query.get("buyer")
        rows = [
            {"order_id": c["order_id"], "status": c["status"]}
            for c in self.checkouts.values()
            if c.get("order_id") and c["buyer"] == buyer
        ]
        return web.json_response({"orders": rows})

    # --- gateway --------------------------------------------------------------------------
    async def card_page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "card.html")

    async def verify_page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "verify.html")

    async def charge(self, request: web.Request) -> web.Response:
        key = request.headers.get("idempotency-key", "")
        for charge_id, c in self.charges.items():
            if key and c["key"] == key:  # a retried charge: the same answer, never a new one
                return web.json_response(self._charge_answer(charge_id))
        body = await request.json()
        number = str(body.get("number", "")).replace(" ", "")
        if not number.isdigit() or len(number) < 13:
            return web.json_response({"error": "card refused"}, status=402)
        charge_id = "kc_" + secrets.token_hex(6)
        self.charges[charge_id] = {
            "secret": body.get("client_secret"),
            "key": key,
            "last4": number[-4:],
            "verified": False,
        }
        return web.json_response(self._charge_answer(charge_id), status=201)

    @staticmethod
    def _charge_answer(charge_id: str) -> dict[str, str]:
        return {
            "id": charge_id,
            "status": "requires_verification",
            "verify_url": f"https://card.kilat.example/v1/verify/{charge_id}",
        }

    async def verify(self, request: web.Request) -> web.Response:
        charge = self.charges.get(request.match_info["charge"])
        if charge is None:
            return web.json_response({"error": "no such charge"}, status=404)
        charge["verified"] = True
        return web.json_response({"status": "succeeded"})


@web.middleware
async def cors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    allow = {
        "Access-Control-Allow-Origin": STOREFRONT,
        "Access-Control-Allow-Headers": "content-type, idempotency-key",
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
    r["m.ramai.example"].add_get("/", shop.index)
    r["m.ramai.example"].add_get("/app.js", shop.app_js)
    r["m.ramai.example"].add_get("/api/orders-cache", shop.orders_cache)
    r["px.ramai.example"].add_get("/px.js", shop.px_js)
    r["px.ramai.example"].add_post("/collect", shop.collect)
    r["sdk.niaga.example"].add_get("/v2/niaga.js", shop.sdk_js)
    r["api.niaga.example"].add_post("/v2/checkouts", shop.create_checkout)
    r["api.niaga.example"].add_post("/v2/checkouts/{checkout}/buyer", shop.buyer)
    r["api.niaga.example"].add_post("/v2/checkouts/{checkout}/confirm", shop.confirm)
    r["api.niaga.example"].add_get("/v2/orders", shop.orders)
    r["card.kilat.example"].add_get("/v1/card", shop.card_page)
    r["card.kilat.example"].add_get("/v1/verify/{charge}", shop.verify_page)
    r["card.kilat.example"].add_post("/v1/charges", shop.charge)
    r["card.kilat.example"].add_post("/v1/charges/{charge}/verify", shop.verify)
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
    runners, resolve = await serve(Shop(ns))
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
    p.add_argument("--stale-orders", action="store_true", help="Orders tab reads Ramai's cache")
    p.add_argument("--layout-shift", action="store_true", help="Buy opens a slow strip, page jumps")
    p.add_argument("--leak-analytics", action="store_true", help="Analytics copies typed fields")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run while serving")
    ns = p.parse_args()
    try:
        return asyncio.run(main_async(ns))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
