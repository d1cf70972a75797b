"""The e-commerce company: checkout UI, catalog/cart/orders API, invoices."""

from __future__ import annotations

import asyncio
import html
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from paywitness.demo._context import Context, company_app, url
from paywitness.demo._orders import OrderApi, checkout_page, invoice_response
from paywitness.demo._seamless_pages import SLOW_HANDOFF_S, login_page, standalone_checkout_page
from paywitness.demo._store import MERCHANTS, OrderStore

__all__ = ["SHIPPING_IDR", "CatalogApi", "build_commerce", "product_json", "shipping_fee"]


#: Shipping to Jakarta; big items ship free (the storefront shows price + shipping).
SHIPPING_IDR = 12_000
FREE_SHIPPING_FROM_IDR = 250_000


def shipping_fee(product: dict[str, Any]) -> int:
    return 0 if product["price"] >= FREE_SHIPPING_FROM_IDR else SHIPPING_IDR


def product_json(product: dict[str, Any], shipping_markup: int = 0) -> dict[str, Any]:
    return {
        "sku": product["sku"],
        "name": product["name"],
        "price": product["price"],
        "shipping": (fee + shipping_markup) if (fee := shipping_fee(product)) else 0,
        "currency": "IDR",
        "stock": product["stock"],
        "merchant": {"id": product["merchant_id"], "name": product["merchant_name"]},
        "description": product["description"],
        "thumbnail": url("api.commerce.test", f"/media/{product['sku']}.svg"),
    }


def thumbnail_svg(product: dict[str, Any]) -> str:
    """A light product picture: the merchant colour, a soft shape and the product's initials."""
    colour = product["colour"]
    initials = "".join(w[0] for w in product["name"].split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 400" width="300" height="400">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{colour}"/><stop offset="1" stop-color="#111"/>'
        "</linearGradient></defs>"
        '<rect width="300" height="400" fill="url(#g)"/>'
        '<circle cx="230" cy="90" r="70" fill="#fff" fill-opacity=".12"/>'
        '<circle cx="60" cy="330" r="110" fill="#fff" fill-opacity=".08"/>'
        '<text x="150" y="225" font-family="Liberation Sans, Arial, sans-serif" font-size="96"'
        f' font-weight="700" fill="#fff" fill-opacity=".9" text-anchor="middle">'
        f"{html.escape(initials)}</text></svg>"
    )


class CatalogApi:
    """Catalog, price and stock endpoints (commerce's; social's copy only under a violation)."""

    def __init__(self, store: OrderStore, shipping_markup: int = 0) -> None:
        self.store = store
        # A stale copy's shipping fee (social's copy under the total-from-social violation).
        self.shipping_markup = shipping_markup

    async def products(self, request: web.Request) -> web.Response:
        merchant = request.query.get("merchant")
        items = [product_json(p, self.shipping_markup) for p in self.store.products(merchant)]
        return web.json_response({"products": items})

    async def product(self, request: web.Request) -> web.Response:
        product = self.store.product(request.match_info["sku"])
        if product is None:
            return web.json_response({"error": "No such product."}, status=404)
        return web.json_response(product_json(product))

    async def merchants(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"merchants": [{"id": k, "name": v} for k, v in MERCHANTS.items()]}
        )

    async def quote(self, request: web.Request) -> web.Response:
        """Price and stock check of a cart (the storefront keeps the cart's contents)."""
        body = await request.json()
        raw = body.get("items") if isinstance(body, dict) else None
        lines, total, problems = [], 0, []
        for item in raw if isinstance(raw, list) else []:
            sku = str(item.get("sku", "")) if isinstance(item, dict) else ""
            qty = item.get("qty", 1) if isinstance(item, dict) else 1
            product = self.store.product(sku)
            if product is None or not isinstance(qty, int) or qty < 1:
                problems.append(f"unknown item {sku!r}")
                continue
            if product["stock"] < qty:
                problems.append(f"{product['name']}: only {product['stock']} left")
            lines.append(
                {**product_json(product), "qty": qty, "line_total": product["price"] * qty}
            )
            total += product["price"] * qty
        return web.json_response(
            {"items": lines, "total": total, "currency": "IDR", "problems": problems}
        )

    async def media(self, request: web.Request) -> web.Response:
        product = self.store.product(request.match_info["sku"])
        if product is None:
            return web.Response(status=404)
        return web.Response(
            text=thumbnail_svg(product),
            content_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=3600"},
        )


def build_commerce(ctx: Context, store: OrderStore) -> web.Application:
    checkout = web.Application()

    async def checkout_handler(request: web.Request) -> web.Response:
        mode = ctx.mode
        if mode.has("slow-handoff"):
            await asyncio.sleep(SLOW_HANDOFF_S)
        if mode.has("extra-login") and "login_token" not in request.query:
            raise web.HTTPFound("/login?" + urlencode({"next": request.path_qs}))
        if request.query.get("standalone") == "1":
            return standalone_checkout_page(request)
        return checkout_page(ctx, store, request, "commerce")

    async def login_handler(request: web.Request) -> web.Response:
        return login_page(request)

    async def warm_handler(request: web.Request) -> web.Response:
        # What the storefront loads in a hidden frame while the buyer browses: an empty page of
        # the checkout's own site, so the checkout frame later opens in a renderer that is
        # already running and over a connection already made (no buyer data, no cookies set).
        return web.Response(
            text="<!doctype html><title>checkout</title>",
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    checkout.router.add_get("/checkout", checkout_handler)
    checkout.router.add_get("/warm", warm_handler)
    checkout.router.add_get("/login", login_handler)

    api = web.Application()
    catalog = CatalogApi(store)
    api.router.add_get("/api/products", catalog.products)
    api.router.add_get("/api/products/{sku}", catalog.product)
    api.router.add_get("/api/merchants", catalog.merchants)
    api.router.add_post("/api/cart/quote", catalog.quote)
    api.router.add_get("/media/{sku}.svg", catalog.media)
    OrderApi(ctx, store, "commerce").routes(api)

    invoice = web.Application()

    async def invoice_handler(request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        return invoice_response(store, order_id, pdf=request.match_info["ext"] == ".pdf")

    invoice.router.add_get("/invoices/{order_id:[A-Z0-9-]+}{ext:(\\.pdf)?}", invoice_handler)

    return company_app(
        ctx,
        "commerce",
        {
            "checkout.commerce.test": checkout,
            "api.commerce.test": api,
            "invoice.commerce.test": invoice,
        },
    )
