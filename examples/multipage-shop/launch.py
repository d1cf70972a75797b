"""Start the multipage-shop example (three aiohttp servers, server-rendered) and print overrides.

    python examples/multipage-shop/launch.py            # serve; print --resolve lines; Ctrl-C
    python examples/multipage-shop/launch.py -- paywitness run --profile ...
        # serve, run the command with the --resolve arguments appended, exit with its code

A storefront (Pasarku, social) embeds the checkout of a separate shop system (Belanja,
commerce) in an iframe; the checkout is a classic server-rendered, multi-page one: basket ->
address (split name fields) -> payment (a form posted to the card processor, Kartu, which
redirects back) -> preview -> place order. No JavaScript beyond opening the iframe; baskets
and orders live in SQLite. Its names never resolve: the browser reaches them only through
paywitness's proxy, which dials the addresses printed here.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import secrets
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

COMPANIES = {
    "social": ("www.pasarku.example",),
    "commerce": ("checkout.belanja.example",),
    "gateway": ("pay.kartu.example",),
}
SERVER_HEADER = {"social": "pasarku/2", "commerce": "belanja-web/5", "gateway": "kartu-api/1"}
CHECKOUT = "https://checkout.belanja.example"
GATEWAY = "https://pay.kartu.example"
PRODUCTS = {"TEH-100": ("Teh Melati 100 g", 25000)}
ADDRESS_FIELDS = (
    ("given_name", "Nama depan"),
    ("family_name", "Nama belakang"),
    ("email", "Email"),
    ("phone", "Telepon"),
    ("line1", "Alamat"),
    ("city", "Kota"),
    ("region", "Provinsi"),
    ("postcode", "Kode pos"),
)
STYLE = (
    "body{font:16px system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem}"
    "label{display:block;margin:.5rem 0}input{display:block;width:100%;padding:.4rem;"
    "box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem}"
)


def page(title: str, body: str) -> web.Response:
    return web.Response(
        text=(
            '<!doctype html><html lang="id"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>"
        ),
        content_type="text/html",
    )


def rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


class Shop:
    """The three companies' state: baskets and orders (commerce, SQLite), charges (gateway)."""

    def __init__(self, db: Path) -> None:
        self.db = sqlite3.connect(db)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(
            "CREATE TABLE baskets (id TEXT PRIMARY KEY, sku TEXT, amount INTEGER,"
            " given_name TEXT, family_name TEXT, email TEXT, phone TEXT, line1 TEXT,"
            " city TEXT, region TEXT, postcode TEXT);"
            "CREATE TABLE orders (id TEXT PRIMARY KEY, basket TEXT UNIQUE, charge TEXT,"
            " amount INTEGER, status TEXT);"
        )
        self.charges: dict[str, dict[str, object]] = {}

    def basket(self, basket_id: str) -> sqlite3.Row:
        row = self.db.execute("SELECT * FROM baskets WHERE id = ?", (basket_id,)).fetchone()
        if row is None:
            raise web.HTTPNotFound(text="no such basket")
        return row

    # --- social: the storefront --------------------------------------------------------------
    async def storefront(self, request: web.Request) -> web.Response:
        sku, (name, price) = next(iter(PRODUCTS.items()))
        start = f"{CHECKOUT}/basket/new?{urlencode({'sku': sku})}"
        return page(
            "Pasarku",
            f"<h1>Pasarku</h1><div data-testid=product data-sku={sku}><h2>{name}</h2>"
            f"<p data-testid=price>{rupiah(price)}</p>"
            "<button data-testid=buy onclick=\"var f=document.getElementById('checkout');"
            f"f.src='{start}';f.hidden=false;this.disabled=true\">Beli</button></div>"
            '<iframe id=checkout name=checkout title="Checkout Belanja" hidden '
            'style="width:100%;height:44rem;border:0"></iframe>',
        )

    async def favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    # --- commerce: the multi-page checkout -------------------------------------------------
    async def new_basket(self, request: web.Request) -> web.Response:
        sku = request.query.get("sku", "")
        if sku not in PRODUCTS:
            return page("Belanja", "<p>Produk tidak dikenal</p>")
        basket_id = secrets.token_hex(6)
        self.db.execute(
            "INSERT INTO baskets (id, sku, amount) VALUES (?, ?, ?)",
            (basket_id, sku, PRODUCTS[sku][1]),
        )
        raise web.HTTPSeeOther(f"/b/{basket_id}/basket")

    async def basket_page(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        name, _ = PRODUCTS[b["sku"]]
        return page(
            "Keranjang",
            f"<h1>Keranjang</h1><p data-testid=line>{name} &times; 1 — {rupiah(b['amount'])}</p>"
            f'<form method=post action="/b/{b["id"]}/basket">'
            "<button id=to-address>Lanjut ke alamat</button></form>",
        )

    async def basket_next(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        raise web.HTTPSeeOther(f"/b/{b['id']}/address")

    def _address_form(self, b: sqlite3.Row, errors: list[str]) -> web.Response:
        fields = "".join(
            f'<label>{label}<input id={key} name={key} value="{html.escape(b[key] or "")}" '
            f"required></label>"
            for key, label in ADDRESS_FIELDS
        )
        problems = "".join(f"<p class=error>{html.escape(e)}</p>" for e in errors)
        return page(
            "Alamat pengiriman",
            f"<h1>Alamat pengiriman</h1>{problems}"
            f'<form method=post action="/b/{b["id"]}/address">{fields}'
            "<button id=to-payment>Lanjut ke pembayaran</button></form>",
        )

    async def address_page(self, request: web.Request) -> web.Response:
        return self._address_form(self.basket(request.match_info["basket"]), [])

    async def address_save(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        form = await request.post()
        values = {key: str(form.get(key, "")).strip() for key, _ in ADDRESS_FIELDS}
        missing = [label for key, label in ADDRESS_FIELDS if not values[key]]
        if missing:
            response = self._address_form(b, [f"Wajib diisi: {', '.join(missing)}"])
            response.set_status(422)
            return response
        self.db.execute(
            "UPDATE baskets SET " + ", ".join(f"{k} = ?" for k in values) + " WHERE id = ?",
            (*values.values(), b["id"]),
        )
        raise web.HTTPSeeOther(f"/b/{b['id']}/payment")

    async def payment_page(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        back = f"{CHECKOUT}/b/{b['id']}/preview"
        return page(
            "Pembayaran",
            f"<h1>Pembayaran</h1><p>Total {rupiah(b['amount'])}</p>"
            # The card goes straight to the processor (a hosted form post), never to Belanja.
            f'<form method=post action="{GATEWAY}/v1/charges">'
            f'<input type=hidden name=reference value="{b["id"]}">'
            f'<input type=hidden name=amount value="{b["amount"]}">'
            f'<input type=hidden name=return_url value="{back}">'
            "<label>Nomor kartu<input id=card_number name=card_number inputmode=numeric "
            "autocomplete=cc-number required></label>"
            "<label>Berlaku s/d (MM/YY)<input id=card_expiry name=card_expiry required></label>"
            "<label>CVC<input id=card_cvc name=card_cvc required></label>"
            "<button id=pay>Bayar</button></form>",
        )

    async def preview_page(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        charge_id = request.query.get("charge", "")
        charge = self.charges.get(charge_id)
        if charge is None or charge["reference"] != b["id"]:
            return page("Belanja", "<p class=error>Pembayaran tidak ditemukan</p>")
        who = html.escape(f"{b['given_name']} {b['family_name']}")
        where = html.escape(f"{b['line1']}, {b['city']}, {b['region']} {b['postcode']}")
        return page(
            "Periksa pesanan",
            f"<h1>Periksa pesanan</h1><dl id=preview><dt>Penerima</dt><dd>{who}</dd>"
            f"<dt>Alamat</dt><dd>{where}</dd><dt>Kartu</dt><dd>•••• {charge['last4']}</dd>"
            f"<dt>Total</dt><dd>{rupiah(b['amount'])}</dd></dl>"
            f'<form method=post action="/b/{b["id"]}/place">'
            f'<input type=hidden name=charge value="{html.escape(charge_id)}">'
            "<button id=place-order>Buat pesanan</button></form>",
        )

    async def place_order(self, request: web.Request) -> web.Response:
        b = self.basket(request.match_info["basket"])
        form = await request.post()
        charge_id = str(form.get("charge", ""))
        charge = self.charges.get(charge_id)
        if charge is None or charge["reference"] != b["id"] or charge["amount"] != b["amount"]:
            return page("Belanja", "<p class=error>Pembayaran tidak cocok</p>")
        existing = self.db.execute("SELECT id FROM orders WHERE basket = ?", (b["id"],)).fetchone()
        order_id = existing["id"] if existing else "BL-" + secrets.token_hex(3).upper()
        if existing is None:
            self.db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, 'paid')",
                (order_id, b["id"], charge_id, b["amount"]),
            )
        raise web.HTTPSeeOther(f"/orders/{order_id}/thanks")

    async def thanks(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order"]
        row = self.db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise web.HTTPNotFound(text="no such order")
        return page(
            "Terima kasih",
            "<div data-testid=confirmation><h1>Terima kasih!</h1><p>Pesanan "
            f"<span data-testid=order-number>{order_id}</span> sudah dibayar.</p>"
            f'<a data-testid=invoice-link href="{CHECKOUT}/invoices/{order_id}" '
            "target=_blank>Faktur</a></div>",
        )

    async def invoice(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order"]
        row = self.db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise web.HTTPNotFound(text="no such order")
        return page("Faktur", f"<h1>Faktur {order_id}</h1><p>{rupiah(row['amount'])}</p>")

    # --- gateway: the hosted card form's endpoint --------------------------------------------
    async def charge(self, request: web.Request) -> web.Response:
        form = await request.post()
        number = str(form.get("card_number", "")).replace(" ", "")
        return_url = str(form.get("return_url", ""))
        if not return_url.startswith(CHECKOUT + "/"):
            return web.Response(status=400, text="return_url is not the merchant's")
        if not number.isdigit() or len(number) < 13:
            return page("Kartu", "<p class=error>Kartu ditolak</p>")
        charge_id = "ch_" + secrets.token_hex(6)
        self.charges[charge_id] = {
            "reference": str(form.get("reference", "")),
            "amount": int(str(form.get("amount", "0")) or 0),
            "last4": number[-4:],
        }
        raise web.HTTPSeeOther(f"{return_url}?{urlencode({'charge': charge_id})}")


def build_apps(shop: Shop) -> dict[str, web.Application]:
    """One application per company, each with its own Server header."""
    social, commerce, gateway = web.Application(), web.Application(), web.Application()
    social.router.add_get("/", shop.storefront)
    social.router.add_get("/favicon.ico", shop.favicon)
    commerce.router.add_get("/favicon.ico", shop.favicon)
    commerce.router.add_get("/basket/new", shop.new_basket)
    commerce.router.add_get("/b/{basket}/basket", shop.basket_page)
    commerce.router.add_post("/b/{basket}/basket", shop.basket_next)
    commerce.router.add_get("/b/{basket}/address", shop.address_page)
    commerce.router.add_post("/b/{basket}/address", shop.address_save)
    commerce.router.add_get("/b/{basket}/payment", shop.payment_page)
    commerce.router.add_get("/b/{basket}/preview", shop.preview_page)
    commerce.router.add_post("/b/{basket}/place", shop.place_order)
    commerce.router.add_get("/orders/{order}/thanks", shop.thanks)
    commerce.router.add_get("/invoices/{order}", shop.invoice)
    gateway.router.add_post("/v1/charges", shop.charge)
    apps = {"social": social, "commerce": commerce, "gateway": gateway}
    for company, app in apps.items():

        async def stamp(
            request: web.Request, response: web.StreamResponse, c: str = company
        ) -> None:
            response.headers["Server"] = SERVER_HEADER[c]

        app.on_response_prepare.append(stamp)
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


async def main_async(ns: argparse.Namespace, db: Path) -> int:
    runners, resolve = await serve(Shop(db))
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
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND to run while serving")
    ns = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="multipage-shop-") as tmp:
        try:
            return asyncio.run(main_async(ns, Path(tmp) / "shop.sqlite3"))
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
