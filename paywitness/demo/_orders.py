"""The transaction back end: orders, payment verification at the gateway, invoices, checkout.

Commerce runs it; in baseline mode (before the migration) social runs the very same code, which
is what the old social API looked like: the paths are identical on both sides.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from paywitness.demo._context import Context, origin, url
from paywitness.demo._pages import html_page, idr
from paywitness.demo._pdf import invoice_pdf
from paywitness.demo._store import OrderStore

__all__ = ["OrderApi", "api_host", "invoice_url", "parse_items"]

GATEWAY = "pay.gateway.test"
_SKU = re.compile(r"^[A-Z0-9-]{1,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_QTY = 20


def api_host(company: str) -> str:
    return f"api.{company}.test"


def invoice_url(ctx: Context, order_id: str) -> str:
    """Where the confirmation's invoice link points: commerce, unless still on social."""
    if ctx.mode.baseline or ctx.mode.has("invoice-on-social"):
        return url("shop.social.test", f"/invoices/{order_id}")
    return url("invoice.commerce.test", f"/invoices/{order_id}")


def _json_error(http_status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=http_status)


def parse_items(spec: str) -> list[tuple[str, int]]:
    """``SKU`` or ``SKU:QTY,SKU:QTY`` -> [(sku, qty)]; ValueError when malformed."""
    items: list[tuple[str, int]] = []
    for part in spec.split(","):
        sku, _, qty_text = part.strip().partition(":")
        qty = int(qty_text) if qty_text else 1
        if not _SKU.match(sku) or not 1 <= qty <= _MAX_QTY:
            raise ValueError(f"bad item {part!r}")
        items.append((sku, qty))
    if not items:
        raise ValueError("no items")
    return items


class OrderApi:
    """Order endpoints of one company ("commerce", or "social" in baseline mode)."""

    def __init__(self, ctx: Context, store: OrderStore, company: str) -> None:
        self.ctx = ctx
        self.store = store
        self.company = company

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/orders", self.create)
        app.router.add_get("/api/orders/status", self.status)
        app.router.add_post("/api/orders/{order_id}/pay", self.pay)
        app.router.add_post("/api/webhooks/gateway", self.webhook)

    @property
    def _secret(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ctx.secret_keys[self.company]}"}

    def _resolve_items(self, raw: Any) -> list[tuple[dict[str, Any], int]] | str:
        if not isinstance(raw, list) or not raw:
            return "items must be a non-empty list"
        out: list[tuple[dict[str, Any], int]] = []
        for item in raw:
            sku = item.get("sku") if isinstance(item, dict) else None
            qty = item.get("qty", 1) if isinstance(item, dict) else None
            if not isinstance(sku, str) or not isinstance(qty, int) or not 1 <= qty <= _MAX_QTY:
                return f"bad item {item!r}"
            product = self.store.product(sku)
            if product is None:
                return f"unknown product {sku}"
            if product["stock"] < qty:
                return f"{product['name']} is out of stock"
            out.append((product, qty))
        return out

    async def create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _json_error(400, "The request body must be JSON.")
        if not isinstance(body, dict):
            return _json_error(400, "The request body must be a JSON object.")
        items = self._resolve_items(body.get("items"))
        if isinstance(items, str):
            return _json_error(400, items)
        buyer_raw = body.get("buyer")
        if not isinstance(buyer_raw, dict):
            return _json_error(400, "buyer is required")
        buyer = {
            k: str(buyer_raw.get(k, "")).strip() for k in ("name", "email", "phone", "address")
        }
        missing = [k for k, v in buyer.items() if not v]
        if missing:
            return _json_error(400, f"Please fill in: {', '.join(missing)}.", fields=missing)
        if not _EMAIL.match(buyer["email"]):
            return _json_error(400, "Please enter a valid email address.", fields=["email"])
        order = self.store.create_order(items, buyer, self.company)
        return web.json_response(
            {
                "order_id": order["order_id"],
                "amount": order["amount"],
                "currency": order["currency"],
                "idempotency_key": order["idempotency_key"],
                "status": order["status"],
            },
            status=201,
        )

    async def status(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("ids", "").split(",") if i][:50]
        orders = self.store.statuses(ids)
        for order in orders:
            if order["status"] == "paid":
                order["invoice_url"] = invoice_url(self.ctx, order["order_id"])
        return web.json_response({"orders": orders})

    def _paid_answer(self, order_id: str) -> web.Response:
        order = self.store.order(order_id)
        assert order is not None
        return web.json_response(
            {
                "order_id": order_id,
                "status": "paid",
                "amount": order["amount"],
                "method": order["method"],
                "invoice_url": invoice_url(self.ctx, order_id),
            }
        )

    async def pay(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        order = self.store.order(order_id)
        if order is None:
            return _json_error(404, f"No order {order_id}.")
        if order["status"] == "paid":
            return self._paid_answer(order_id)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _json_error(400, "The request body must be JSON.")
        method = body.get("method", "card") if isinstance(body, dict) else None
        if method == "card":
            return await self._verify_card(order, str(body.get("charge_id", "")))
        if method in ("va", "ewallet"):
            return await self._start_async_payment(order, method, body)
        return _json_error(400, f"Unknown payment method {method!r}.")

    async def _fetch_charge(self, charge_id: str) -> tuple[int, Any]:
        return await self.ctx.backend_json(
            "GET", GATEWAY, f"/v1/charges/{charge_id}", headers=self._secret
        )

    def _check_charge(self, order: dict[str, Any], charge: Any) -> str | None:
        if not isinstance(charge, dict):
            return "unreadable charge"
        if charge.get("order_id") != order["order_id"]:
            return "the charge belongs to another order"
        if charge.get("amount") != order["amount"] or charge.get("currency") != order["currency"]:
            return "the charge amount does not match the order"
        return None

    async def _verify_card(self, order: dict[str, Any], charge_id: str) -> web.Response:
        if not charge_id:
            return _json_error(400, "charge_id is required.")
        status, charge = await self._fetch_charge(charge_id)
        if status != 200:
            return _json_error(402, "The payment could not be verified with the gateway.")
        problem = self._check_charge(order, charge)
        if problem:
            return _json_error(402, f"Payment rejected: {problem}.")
        state = charge["status"]
        if state == "succeeded":
            self.store.mark_paid(order["order_id"], "card", charge_id)
            return self._paid_answer(order["order_id"])
        if state == "requires_action":
            return _json_error(409, "The card payment still needs 3-D Secure authentication.")
        message = charge.get("failure_message") or "The payment failed."
        self.store.mark_failed(order["order_id"], "card", charge_id, message)
        return _json_error(402, message, order_id=order["order_id"], status="payment_failed")

    async def _start_async_payment(
        self, order: dict[str, Any], method: str, body: dict[str, Any]
    ) -> web.Response:
        option_name = "bank" if method == "va" else "provider"
        option = str(body.get(option_name) or ("bca" if method == "va" else "gopay")).lower()
        status, charge = await self.ctx.backend_json(
            "POST",
            GATEWAY,
            "/v1/charges",
            payload={
                "method": method,
                option_name: option,
                "order_id": order["order_id"],
                "amount": order["amount"],
                "currency": order["currency"],
                "notify": api_host(self.company),
            },
            headers={
                **self._secret,
                "Idempotency-Key": f"{order['idempotency_key']}-{method}-{option}",
            },
        )
        if status != 200 or not isinstance(charge, dict):
            message = "The payment could not be started."
            if isinstance(charge, dict) and isinstance(charge.get("error"), dict):
                message = charge["error"].get("message", message)
            return _json_error(502 if status >= 500 else 400, message)
        if charge["status"] == "succeeded":
            self.store.mark_paid(order["order_id"], method, charge["id"])
            return self._paid_answer(order["order_id"])
        self.store.mark_pending(order["order_id"], method, charge["id"])
        answer: dict[str, Any] = {
            "order_id": order["order_id"],
            "status": "pending",
            "method": method,
            "amount": order["amount"],
        }
        answer[method] = charge[method]
        return web.json_response(answer, status=202)

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        charge_id = str(body.get("charge_id", "")) if isinstance(body, dict) else ""
        # Never trust the webhook body: ask the gateway for the charge itself.
        status, charge = await self._fetch_charge(charge_id)
        if status != 200 or not isinstance(charge, dict):
            return _json_error(400, "unknown charge")
        order = self.store.order(str(charge.get("order_id")))
        if order is None:
            return _json_error(404, "unknown order")
        if self._check_charge(order, charge) is None:
            if charge["status"] == "succeeded":
                self.store.mark_paid(order["order_id"], charge["method"], charge_id)
            elif charge["status"] == "failed":
                self.store.mark_failed(
                    order["order_id"], charge["method"], charge_id, charge["failure_message"]
                )
        return web.json_response({"received": True})


def _served_origin(company: str) -> str:
    return origin("shop.social.test" if company == "social" else "checkout.commerce.test")


def _pay_host(ctx: Context, company: str) -> str:
    if company == "social" or ctx.mode.has("payment-on-social"):
        return api_host("social")
    return api_host("commerce")


def checkout_page(
    ctx: Context, store: OrderStore, request: web.Request, company: str
) -> web.Response:
    """The embedded checkout; the same page whether commerce or (baseline) social serves it."""
    spec = request.query.get("items") or request.query.get("sku", "")
    try:
        wanted = parse_items(spec)
    except ValueError:
        return html_page("message.html", status=400, TITLE="Checkout", MESSAGE="Unknown product.")
    lines = []
    for sku, qty in wanted:
        product = store.product(sku)
        if product is None:
            return html_page(
                "message.html", status=404, TITLE="Checkout", MESSAGE="Unknown product."
            )
        lines.append((product, qty))
    own_origin = _served_origin(company)
    api = origin(api_host(company))
    items_html = "".join(
        f'<li class="item"><span class="thumb" style="background:{p["colour"]}"></span>'
        f'<span class="iname">{_esc(p["name"])}<small>{_esc(p["merchant_name"])}'
        f" · {qty}x</small></span><b>{idr(p['price'] * qty)}</b></li>"
        for p, qty in lines
    )
    total = sum(p["price"] * qty for p, qty in lines)
    config: dict[str, Any] = {
        "items": [{"sku": p["sku"], "qty": qty} for p, qty in lines],
        "ordersUrl": f"{api}/api/orders",
        "statusUrl": f"{api}/api/orders/status",
        "payBase": url(_pay_host(ctx, company), "/api/orders/"),
        "fallbackPayBase": url(api_host("social"), "/api/orders/")
        if ctx.mode.has("fallback-to-social")
        else None,
        # Violation: the pay call goes to social under an innocent path and is relayed.
        "payRelayUrl": url(api_host("social"), "/v1/activity")
        if ctx.mode.has("relay-under-innocent-path")
        else None,
        "gatewayOrigin": origin(GATEWAY),
        "parentOrigin": origin("shop.social.test"),
    }
    # Data violations: each switch makes the checkout hand buyer data to social one way.
    if ctx.mode.has("email-hash-to-social"):
        config["pixelUrl"] = url("events.social.test", "/px")
    if ctx.mode.has("email-hash-to-noise-host"):
        config["pixelUrl"] = url("www.google.com", "/pagead/px")  # listed under noise.hosts
    if ctx.mode.has("name-fields-hash-to-social"):
        config["matchingPixelUrl"] = url("events.social.test", "/px")
    if ctx.mode.has("address-over-social-websocket"):
        merchant = lines[0][0].get("merchant_id", "") if lines else ""
        config["sellerChatUrl"] = "wss://chat.social.test/ws?merchant=" + str(merchant)
    if ctx.mode.has("postmessage-leak"):
        config["shareBuyer"] = True
    return html_page(
        "checkout.html",
        ITEMS_HTML=items_html,
        TOTAL=idr(total),
        FIELDS_URL=url(GATEWAY, "/fields?" + urlencode({"account": company, "origin": own_origin})),
        CONFIG_JSON=config,
    )


def _esc(text: str) -> str:
    return html.escape(text)


def invoice_number(order: dict[str, Any]) -> str:
    day = dt.datetime.fromtimestamp(order["paid_at"] or order["created"], dt.UTC)
    return f"INV/{day:%Y%m%d}/{order['order_id']}"


def invoice_response(store: OrderStore, order_id: str, *, pdf: bool) -> web.Response:
    """The invoice of a paid order, as HTML or as a PDF."""
    order = store.order(order_id)
    if order is None:
        return web.Response(status=404, text="No such invoice.")
    if order["status"] != "paid":
        return web.Response(status=409, text="This order is not paid yet.")
    number = invoice_number(order)
    if pdf:
        return web.Response(
            body=invoice_pdf(order, number),
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{order_id}.pdf"'},
        )
    rows = "".join(
        f"<tr><td>{_esc(i['name'])}<small>{_esc(i['merchant_name'])}</small></td>"
        f"<td>{i['qty']}</td><td>{idr(i['price'])}</td><td>{idr(i['price'] * i['qty'])}</td></tr>"
        for i in order["items"]
    )
    paid = dt.datetime.fromtimestamp(order["paid_at"], dt.UTC).strftime("%d %b %Y %H:%M UTC")
    return html_page(
        "invoice.html",
        NUMBER=number,
        ORDER_ID=order_id,
        PAID_AT=paid,
        METHOD={"card": "Kartu kredit/debit", "va": "Virtual account", "ewallet": "E-wallet"}.get(
            order["method"] or "", order["method"] or "-"
        ),
        BUYER=order["buyer_name"],
        ADDRESS=order["buyer_address"],
        ROWS_HTML=rows,
        TOTAL=idr(order["amount"]),
        PDF_URL=f"/invoices/{order_id}.pdf",
    )
