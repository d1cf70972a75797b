"""The social-media company: storefront, its API, promotion beacons and live chat.

After the migration social only promotes; its old order paths answer 404 unless the shop runs
in baseline mode (before the migration) or with a violation that keeps them alive.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from paywitness.demo._commerce import CatalogApi
from paywitness.demo._context import LOG_NOW, Context, DemoMode, company_app, origin, url
from paywitness.demo._orders import OrderApi, checkout_page, invoice_response
from paywitness.demo._pages import html_page
from paywitness.demo._store import MERCHANTS, OrderStore

__all__ = [
    "BEACON_FIELDS",
    "RELAYED_COMMERCE_HOST",
    "SESSION_COOKIE",
    "SOCIAL_SERVES_COMMERCE",
    "SocialState",
    "build_social",
]

# The violation where a commerce name is answered by social's own server ("merged back end").
SOCIAL_SERVES_COMMERCE = "commerce-host-on-social-server"
RELAYED_COMMERCE_HOST = "api.commerce.test"

SESSION_COOKIE = "social_session"
BEACON_FIELDS = frozenset({"event", "product_id", "user_id"})
_BEACON_EVENTS = frozenset(
    {"feed_view", "product_impression", "product_click", "buy_click", "share", "order_confirmed"}
)


@dataclass
class SocialUser:
    id: str
    name: str
    handle: str
    order_ids: list[str] = field(default_factory=list)


class SocialState:
    """Social's own memory: sessions, the order ids each user placed, beacons received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[str, SocialUser] = {}
        self.beacons: list[dict[str, Any]] = []
        self.chats: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def new_session(self) -> tuple[str, SocialUser]:
        token = secrets.token_urlsafe(24)
        user = SocialUser(
            id="su_" + secrets.token_hex(4), name="Rina Wulandari", handle="@rina.belanja"
        )
        with self._lock:
            self.sessions[token] = user
        return token, user

    def user(self, request: web.Request) -> SocialUser | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            return self.sessions.get(token)

    def add_beacon(self, beacon: dict[str, Any]) -> None:
        with self._lock:
            self.beacons.append(beacon)

    def beacon_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.beacons)

    def clear_beacons(self) -> None:
        with self._lock:
            self.beacons.clear()

    async def close_chats(self) -> None:
        for ws in list(self.chats):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def _checkout_mode(mode: DemoMode) -> str:
    """How the storefront shows the checkout: embedded, or one of the seamless violations."""
    for violation, how in (
        ("redirect-checkout", "redirect"),
        ("popup-checkout", "popup"),
        ("layout-shift", "inline"),
    ):
        if mode.has(violation) and not mode.baseline:
            return how
    return "modal"


def _not_found() -> web.Response:
    return web.json_response({"error": "Not found."}, status=404)


class _Social:
    def __init__(self, ctx: Context, store: OrderStore, state: SocialState) -> None:
        self.ctx = ctx
        self.store = store
        self.state = state
        self.orders = OrderApi(ctx, store, "social")
        self.catalog_copy = CatalogApi(store)
        # Social's copy of the catalog, taken before commerce raised its shipping fee.
        self.stale_shipping_copy = CatalogApi(store, shipping_markup=-2_000)

    # --- shop.social.test --------------------------------------------------------------------
    async def storefront(self, request: web.Request) -> web.Response:
        user = self.state.user(request)
        token = None
        if user is None:
            token, user = self.state.new_session()
        mode = self.ctx.mode
        tx = "api.social.test" if mode.baseline else "api.commerce.test"
        response = html_page(
            "storefront.html",
            USER_NAME=user.name,
            USER_HANDLE=user.handle,
            CONFIG_JSON={
                "user": {"id": user.id, "name": user.name, "handle": user.handle},
                "productsUrl": url(
                    "api.social.test" if mode.has("catalog-from-social") else "api.commerce.test",
                    "/api/products",
                ),
                # Violation: the shown total is computed with social's stale shipping fee.
                "shippingFromUrl": url("api.social.test", "/api/products")
                if mode.has("total-from-social")
                else None,
                "checkoutMode": _checkout_mode(mode),
                "checkoutUrl": url(
                    "shop.social.test" if mode.baseline else "checkout.commerce.test", "/checkout"
                ),
                "orderStatusUrl": url(
                    "api.social.test" if mode.has("orders-from-social") else tx,
                    "/api/orders/status",
                ),
                "socialApi": origin("api.social.test"),
                "eventsUrl": url("events.social.test", "/e"),
                "chatUrl": "wss://chat.social.test/ws",
                "merchants": MERCHANTS,
            },
        )
        if token is not None:
            response.set_cookie(
                SESSION_COOKIE,
                token,
                domain=".social.test",
                path="/",
                secure=True,
                httponly=True,
                samesite="Lax",
                max_age=7 * 24 * 3600,
            )
        return response

    async def checkout(self, request: web.Request) -> web.Response:
        if not self.ctx.mode.baseline:
            return web.Response(status=404, text="Checkout moved.")
        return checkout_page(self.ctx, self.store, request, "social")

    async def invoice(self, request: web.Request) -> web.StreamResponse:
        order_id = request.match_info["order_id"]
        ext = request.match_info["ext"]
        mode = self.ctx.mode
        if mode.baseline:
            return invoice_response(self.store, order_id, pdf=ext == ".pdf")
        if mode.has("invoice-on-social"):
            status, body, content_type = await self.ctx.backend(
                "GET", "invoice.commerce.test", f"/invoices/{order_id}{ext}"
            )
            return web.Response(
                status=status,
                body=body,
                headers={"Content-Type": content_type or "text/html", "Cache-Control": "no-store"},
            )
        return web.Response(status=404, text="Invoices are issued by the seller's shop.")

    # --- api.social.test ---------------------------------------------------------------------
    async def me(self, request: web.Request) -> web.Response:
        user = self.state.user(request)
        if user is None:
            return web.json_response({"error": "Not logged in."}, status=401)
        return web.json_response({"id": user.id, "name": user.name, "handle": user.handle})

    async def my_orders(self, request: web.Request) -> web.Response:
        """The order ids a user placed (ids only: social keeps no order details)."""
        user = self.state.user(request)
        if user is None:
            return web.json_response({"error": "Not logged in."}, status=401)
        answer: dict[str, Any] = {}
        if request.method == "POST":
            body = await request.json()
            order_id = str(body.get("order_id", "")) if isinstance(body, dict) else ""
            if not order_id or len(order_id) > 40:
                return web.json_response({"error": "order_id is required."}, status=400)
            if order_id not in user.order_ids:
                user.order_ids.append(order_id)
            order = self.store.order(order_id)
            if self.ctx.mode.has("storage-leak") and order is not None:
                # Violation: social got the buyer's contact from commerce and hands it out.
                answer["contact"] = {"phone": order["buyer_phone"]}
        return web.json_response({"order_ids": user.order_ids, **answer})

    async def create_order(self, request: web.Request) -> web.Response:
        if not self.ctx.mode.baseline:
            return _not_found()
        return await self.orders.create(request)

    async def order_status(self, request: web.Request) -> web.Response:
        if self.ctx.mode.has("orders-from-social") and not self.ctx.mode.baseline:
            # Social's own copy, taken when the order was created and never updated.
            ids = [i for i in request.query.get("ids", "").split(",") if i][:50]
            stale = [{**o, "status": "created"} for o in self.store.statuses(ids)]
            return web.json_response({"orders": stale})
        if not self.ctx.mode.baseline:
            return _not_found()
        return await self.orders.status(request)

    async def catalog(self, request: web.Request) -> web.StreamResponse:
        """Social's copy of the catalog: only served with the catalog-from-social violation."""
        if self.ctx.mode.has("total-from-social") and not self.ctx.mode.has("catalog-from-social"):
            if request.method == "GET" and "sku" not in request.match_info:
                return await self.stale_shipping_copy.products(request)
            return _not_found()
        if not self.ctx.mode.has("catalog-from-social"):
            return _not_found()
        if "sku" in request.match_info:
            return await self.catalog_copy.product(request)
        if request.method == "POST":
            return await self.catalog_copy.quote(request)
        return await self.catalog_copy.products(request)

    async def webhook(self, request: web.Request) -> web.Response:
        if not self.ctx.mode.baseline:
            return _not_found()
        return await self.orders.webhook(request)

    async def pay(self, request: web.Request) -> web.Response:
        mode = self.ctx.mode
        if mode.baseline:
            return await self.orders.pay(request)
        if mode.has("payment-on-social") or mode.has("fallback-to-social"):
            # The pre-migration pay endpoint kept alive: it forwards to commerce server-side,
            # so the buyer still sees success.
            order_id = request.match_info["order_id"]
            body = await request.read()
            payload = json.loads(body) if body else {}
            status, answer, content_type = await self.ctx.backend(
                "POST", "api.commerce.test", f"/api/orders/{order_id}/pay", payload=payload
            )
            return web.Response(status=status, body=answer, headers={"Content-Type": content_type})
        return _not_found()

    async def activity(self, request: web.Request) -> web.Response:
        """An analytics-looking endpoint; under one violation it relays the pay call."""
        if not self.ctx.mode.has("relay-under-innocent-path"):
            return _not_found()
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": "bad activity"}, status=400)
        order_id = str(body.pop("order_id", "")) if isinstance(body, dict) else ""
        if not order_id or not isinstance(body, dict):
            return web.json_response({"error": "order_id is required."}, status=400)
        body.pop("event", None)
        status, answer, content_type = await self.ctx.backend(
            "POST", "api.commerce.test", f"/api/orders/{order_id}/pay", payload=body
        )
        return web.Response(status=status, body=answer, headers={"Content-Type": content_type})

    async def relay_commerce(self, request: web.Request) -> web.Response:
        """The commerce API name answered by social's server, relayed to commerce's."""
        if not self.ctx.mode.has(SOCIAL_SERVES_COMMERCE):
            return _not_found()
        body = await request.read()
        payload = json.loads(body) if body else None
        status, answer, content_type = await self.ctx.backend(
            request.method, RELAYED_COMMERCE_HOST, request.path_qs, payload=payload
        )
        return web.Response(status=status, body=answer, headers={"Content-Type": content_type})

    # --- events.social.test ------------------------------------------------------------------
    async def beacon(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            return web.Response(status=400, text="bad beacon")
        fields = BEACON_FIELDS | ({"payload"} if self.ctx.mode.has("card-to-social") else set())
        if not isinstance(body, dict) or set(body) - fields:
            return web.Response(status=400, text="beacon fields: event, product_id, user_id")
        if body.get("event") not in _BEACON_EVENTS | {"add_payment_info"}:
            return web.Response(status=400, text="unknown event")
        self.state.add_beacon({**body, "ts": time.time()})
        return web.Response(status=204)

    async def pixel(self, request: web.Request) -> web.Response:
        """A tracking pixel: the event and ids are in the query (only parsed for the log)."""
        return web.Response(status=204, headers={"Cache-Control": "no-store"})

    # --- chat.social.test --------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        user = self.state.user(request)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        request[LOG_NOW](101)
        self.state.chats.add(ws)
        anonymous = self.ctx.mode.has("address-over-social-websocket")  # embedded seller chat
        if user is None and not anonymous:
            await ws.close(code=4401, message=b"login required")
            return ws
        merchant = request.query.get("merchant", "m-batik")
        name = MERCHANTS.get(merchant, "Seller")
        who = user.name.split()[0] if user is not None else "kak"
        await ws.send_json({"from": name, "text": f"Halo {who}! Ada yang bisa kami bantu?"})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                text = str(json.loads(msg.data).get("text", ""))[:500]
            except (json.JSONDecodeError, AttributeError):
                continue
            reply = "Stok masih tersedia, silakan checkout ya kak." if text else "?"
            await ws.send_json({"from": name, "text": reply})
        return ws


def build_social(ctx: Context, store: OrderStore, state: SocialState) -> web.Application:
    social = _Social(ctx, store, state)

    shop = web.Application()
    for path in ("/", "/shop/{merchant}", "/product/{sku}", "/orders", "/cart"):
        shop.router.add_get(path, social.storefront)
    shop.router.add_get("/checkout", social.checkout)
    shop.router.add_get("/invoices/{order_id:[A-Z0-9-]+}{ext:(\\.pdf)?}", social.invoice)

    api = web.Application()
    api.router.add_get("/api/products", social.catalog)
    api.router.add_get("/api/products/{sku}", social.catalog)
    api.router.add_post("/api/cart/quote", social.catalog)
    api.router.add_get("/api/me", social.me)
    api.router.add_get("/api/me/orders", social.my_orders)
    api.router.add_post("/api/me/orders", social.my_orders)
    api.router.add_post("/api/orders", social.create_order)
    api.router.add_get("/api/orders/status", social.order_status)
    api.router.add_post("/api/orders/{order_id}/pay", social.pay)
    api.router.add_post("/api/webhooks/gateway", social.webhook)
    api.router.add_post("/v1/activity", social.activity)

    events = web.Application()
    events.router.add_post("/e", social.beacon)
    events.router.add_get("/px", social.pixel)

    chat = web.Application()
    chat.router.add_get("/ws", social.chat)

    relay = web.Application()
    relay.router.add_route("*", "/{tail:.*}", social.relay_commerce)

    return company_app(
        ctx,
        "social",
        {
            RELAYED_COMMERCE_HOST: relay,
            "shop.social.test": shop,
            "api.social.test": api,
            "events.social.test": events,
            "chat.social.test": chat,
        },
    )
