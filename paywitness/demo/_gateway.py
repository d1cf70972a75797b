"""The payment gateway company: hosted card fields, charges, 3-D Secure, VA and e-wallet."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from aiohttp import web

from paywitness.demo._context import COMPANY_HOSTS, Context, company_app, url
from paywitness.demo._pages import html_page, idr
from paywitness.demo._store import ChargeStore, new_id

__all__ = [
    "BIN_BEHAVIOUR",
    "EWALLET_PROVIDERS",
    "OTP",
    "VA_BANKS",
    "build_gateway",
    "luhn_valid",
]

HOST = "pay.gateway.test"
# The sandbox conventions of fixtures/instruments.yaml (a test keeps the two in step).
BIN_BEHAVIOUR = {"424242": "approved", "400002": "declined", "400003": "challenge"}
OTP = "123456"
VA_BANKS = {"bca": "39358", "bni": "8808", "bri": "26215", "mandiri": "89608"}
EWALLET_PROVIDERS = ("gopay", "ovo", "dana", "shopeepay")
_DECLINE_MESSAGE = "Your card was declined: insufficient funds. Try another card or method."
_ACCOUNTS = ("commerce", "social")
_NOTIFY_HOSTS = ("api.commerce.test", "api.social.test")


def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) check of a digit string."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:2] == "22":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number[:2] == "35":
        return "jcb"
    return "card"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _expiry_valid(expiry: str) -> bool:
    parts = expiry.replace(" ", "").split("/")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return False
    month, year = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        return False
    year += 2000 if year < 100 else 0
    today = dt.date.today()
    return (year, month) >= (today.year, today.month)


def public_charge(charge: dict[str, Any]) -> dict[str, Any]:
    """The API view of a charge (no card number, ever)."""
    out: dict[str, Any] = {
        "id": charge["id"],
        "object": "charge",
        "account": charge["account"],
        "order_id": charge["order_id"],
        "amount": charge["amount"],
        "currency": charge["currency"],
        "method": charge["method"],
        "status": charge["status"],
        "failure_message": charge["failure_message"],
        "created": charge["created"],
    }
    if charge["method"] == "card":
        out["card"] = {
            "brand": charge["card_brand"],
            "bin": charge["card_bin"],
            "last4": charge["card_last4"],
        }
        if charge["status"] == "requires_action":
            out["next_action"] = {"type": "redirect", "url": url(HOST, f"/3ds/{charge['id']}")}
    elif charge["method"] == "va":
        out["va"] = {
            "bank": charge["bank"],
            "number": charge["va_number"],
            "simulator_url": url(HOST, f"/va/simulator?va={charge['va_number']}"),
        }
    elif charge["method"] == "ewallet":
        out["ewallet"] = {
            "provider": charge["provider"],
            "approve_url": url(HOST, f"/ewallet/{charge['id']}"),
            "qr_url": url(HOST, f"/ewallet/{charge['id']}/qr.svg"),
            "deeplink": f"{charge['provider']}://pay?charge={charge['id']}",
        }
    return out


def _qr_svg(seed: str) -> str:
    """A QR-looking (not decodable) 25x25 module picture, deterministic per charge."""
    n, cell = 25, 8
    bits = "".join(
        f"{b:08b}" for i in range(4) for b in hashlib.sha256(f"{seed}:{i}".encode()).digest()
    )
    rects = []
    for y in range(n):
        for x in range(n):
            finder = any(
                fx <= x < fx + 7 and fy <= y < fy + 7 for fx, fy in ((0, 0), (n - 7, 0), (0, n - 7))
            )
            if finder:
                lx = x if x < 7 else x - (n - 7)
                ly = y if y < 7 else y - (n - 7)
                ring = max(abs(lx - 3), abs(ly - 3))
                on = ring != 2
            else:
                on = bits[(y * n + x) % len(bits)] == "1"
            if on:
                rects.append(
                    f'<rect x="{x * cell}" y="{y * cell}" width="{cell}" height="{cell}"/>'
                )
    size = n * cell
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-16 -16 {size + 32} {size + 32}" '
        f'width="{size + 32}" height="{size + 32}"><rect x="-16" y="-16" width="{size + 32}" '
        f'height="{size + 32}" fill="#fff"/><g fill="#111">{"".join(rects)}</g></svg>'
    )


class _Gateway:
    def __init__(self, ctx: Context, store: ChargeStore) -> None:
        self.ctx = ctx
        self.store = store

    # --- helpers ---------------------------------------------------------------------------
    def _account_for_secret(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        for account, key in self.ctx.secret_keys.items():
            if token and hmac.compare_digest(token, key):
                return account
        return None

    async def _notify(self, charge: dict[str, Any]) -> None:
        """Webhook to the merchant's back end (server to server)."""
        if not charge["notify"]:
            return
        await self.ctx.backend(
            "POST",
            charge["notify"],
            "/api/webhooks/gateway",
            payload={"type": "charge.updated", "charge_id": charge["id"]},
            headers={"X-Gateway-Signature": self._signature(charge["id"], charge["account"])},
        )

    def _signature(self, charge_id: str, account: str) -> str:
        key = self.ctx.secret_keys[account].encode()
        return hmac.new(key, charge_id.encode(), hashlib.sha256).hexdigest()

    # --- pages -----------------------------------------------------------------------------
    async def fields(self, request: web.Request) -> web.Response:
        origin = request.query.get("origin", "")
        account = request.query.get("account", "commerce")
        if not origin.startswith("https://") or account not in _ACCOUNTS:
            return web.Response(status=400, text="fields need origin= and account=")
        config = {
            "parentOrigin": origin,
            "account": account,
            "chargesUrl": url(HOST, "/v1/charges"),
            "retryOnNetworkError": self.ctx.mode.has("double-charge"),
        }
        if self.ctx.mode.has("card-to-social"):
            config["analyticsUrl"] = url("events.social.test", "/e")
        return html_page("fields.html", PARENT_ORIGIN=origin, CONFIG_JSON=config)

    async def three_ds(self, request: web.Request) -> web.Response:
        charge = self.store.get(request.match_info["charge_id"])
        if charge is None:
            return web.Response(status=404, text="unknown charge")
        return html_page(
            "otp.html",
            AMOUNT=idr(charge["amount"]),
            LAST4=charge["card_last4"] or "",
            CONFIG_JSON={
                "chargeId": charge["id"],
                "parentOrigin": request.query.get("origin", ""),
                "submitUrl": url(HOST, f"/v1/charges/{charge['id']}/3ds"),
            },
        )

    async def va_simulator(self, request: web.Request) -> web.Response:
        va = request.query.get("va", "")
        charge = self.store.by_va(va) if va else None
        return html_page(
            "va_simulator.html",
            VA=va,
            BANK=(charge["bank"] or "").upper() if charge else "-",
            AMOUNT=idr(charge["amount"]) if charge else "-",
            STATUS=charge["status"] if charge else "unknown",
            CONFIG_JSON={"va": va, "payUrl": url(HOST, "/va/simulator/pay")},
        )

    async def ewallet_page(self, request: web.Request) -> web.Response:
        charge = self.store.get(request.match_info["charge_id"])
        if charge is None or charge["method"] != "ewallet":
            return web.Response(status=404, text="unknown e-wallet payment")
        return html_page(
            "ewallet.html",
            PROVIDER=(charge["provider"] or "").upper(),
            AMOUNT=idr(charge["amount"]),
            ORDER=charge["order_id"],
            STATUS=charge["status"],
            CONFIG_JSON={
                "approveUrl": url(HOST, f"/ewallet/{charge['id']}/approve"),
                "denyUrl": url(HOST, f"/ewallet/{charge['id']}/deny"),
            },
        )

    async def ewallet_qr(self, request: web.Request) -> web.Response:
        charge = self.store.get(request.match_info["charge_id"])
        if charge is None:
            return web.Response(status=404)
        return web.Response(text=_qr_svg(charge["id"]), content_type="image/svg+xml")

    # --- API -------------------------------------------------------------------------------
    async def create_charge(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _error(400, "idempotency_key_missing", "The Idempotency-Key header is required.")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "bad_json", "The request body must be JSON.")
        if not isinstance(body, dict):
            return _error(400, "bad_json", "The request body must be a JSON object.")
        method = body.get("method", "card")
        if method == "card":
            account = body.get("account")
        else:
            # VA and e-wallet charges are created by the merchant's back end with its secret key.
            account = self._account_for_secret(request)
            if account is None:
                return _error(401, "unauthorized", "A secret key is required for this method.")
        if account not in _ACCOUNTS:
            return _error(400, "bad_account", f"Unknown merchant account {account!r}.")
        scoped_key = f"{account}:{key}"
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        remembered = (
            None if self.ctx.mode.has("double-charge") else self.store.remembered(scoped_key)
        )
        if remembered is not None:
            old_fingerprint, status, answer = remembered
            if old_fingerprint != fingerprint:
                return _error(
                    409,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with different parameters.",
                )
            return web.json_response(answer, status=status, headers={"Idempotent-Replayed": "true"})
        status, answer = self._new_charge(account, method, body, key)
        if status == 200:  # a refused card may be corrected and retried with the same key
            self.store.remember(scoped_key, fingerprint, status, answer)
        return web.json_response(answer, status=status)

    def _new_charge(
        self, account: str, method: str, body: dict[str, Any], key: str
    ) -> tuple[int, dict[str, Any]]:
        order_id = body.get("order_id")
        amount = body.get("amount")
        if not isinstance(order_id, str) or not order_id:
            return 400, {"error": {"code": "order_missing", "message": "order_id is required."}}
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 400, {"error": {"code": "bad_amount", "message": "amount must be > 0."}}
        now = time.time()
        charge: dict[str, Any] = {
            "id": new_id("ch_", 16).lower(),
            "created": now,
            "updated": now,
            "account": account,
            "order_id": order_id,
            "amount": amount,
            "currency": body.get("currency", "IDR"),
            "method": method,
            "idempotency_key": key,
            "notify": None,
        }
        if method != "card":
            notify = body.get("notify")
            if notify not in _NOTIFY_HOSTS:
                return 400, {
                    "error": {"code": "bad_notify", "message": "notify must be an API host."}
                }
            charge["notify"] = notify
        if method == "card":
            card = body.get("card") or {}
            number = "".join(ch for ch in str(card.get("number", "")) if not ch.isspace())
            if not luhn_valid(number):
                return 400, {
                    "error": {
                        "code": "invalid_number",
                        "message": "The card number is not valid. Check it and try again.",
                    }
                }
            if not _expiry_valid(str(card.get("expiry", ""))):
                return 400, {
                    "error": {"code": "invalid_expiry", "message": "The expiry date is not valid."}
                }
            cvc = str(card.get("cvc", ""))
            if not (cvc.isdigit() and len(cvc) in (3, 4)):
                return 400, {"error": {"code": "invalid_cvc", "message": "The CVC is not valid."}}
            behaviour = BIN_BEHAVIOUR.get(number[:6], "approved")
            charge.update(
                card_brand=_brand(number),
                card_bin=number[:6],
                card_last4=number[-4:],
                status={
                    "approved": "succeeded",
                    "declined": "declined",
                    "challenge": "requires_action",
                }[behaviour],
                failure_message=_DECLINE_MESSAGE if behaviour == "declined" else None,
            )
        elif method == "va":
            bank = str(body.get("bank", "bca")).lower()
            if bank not in VA_BANKS:
                return 400, {"error": {"code": "bad_bank", "message": f"Unknown bank {bank!r}."}}
            prefix = VA_BANKS[bank]
            digits = "".join(secrets.choice("0123456789") for _ in range(16 - len(prefix)))
            charge.update(bank=bank, va_number=prefix + digits, status="pending")
        elif method == "ewallet":
            provider = str(body.get("provider", "gopay")).lower()
            if provider not in EWALLET_PROVIDERS:
                return 400, {
                    "error": {"code": "bad_provider", "message": f"Unknown e-wallet {provider!r}."}
                }
            charge.update(provider=provider, status="pending")
        else:
            return 400, {"error": {"code": "bad_method", "message": f"Unknown method {method!r}."}}
        charge.setdefault("failure_message", None)
        self.store.insert(charge)
        stored = self.store.get(charge["id"])
        assert stored is not None
        return 200, public_charge(stored)

    async def get_charge(self, request: web.Request) -> web.Response:
        account = self._account_for_secret(request)
        charge = self.store.get(request.match_info["charge_id"])
        if account is None:
            return _error(401, "unauthorized", "A secret key is required.")
        if charge is None or charge["account"] != account:
            return _error(404, "not_found", "No such charge.")
        return web.json_response(public_charge(charge))

    async def submit_otp(self, request: web.Request) -> web.Response:
        charge = self.store.get(request.match_info["charge_id"])
        if charge is None:
            return _error(404, "not_found", "No such charge.")
        if charge["status"] != "requires_action":
            return web.json_response(public_charge(charge))
        body = await request.json()
        if str(body.get("otp", "")).strip() == OTP:
            self.store.set_status(charge["id"], "succeeded")
        else:
            self.store.set_status(
                charge["id"], "failed", "3-D Secure authentication failed: wrong OTP."
            )
        updated = self.store.get(charge["id"])
        assert updated is not None
        return web.json_response(public_charge(updated))

    async def simulate_va_payment(self, request: web.Request) -> web.Response:
        body = await request.json()
        charge = self.store.by_va(str(body.get("va", "")))
        if charge is None:
            return _error(404, "not_found", "No such virtual account.")
        if charge["status"] == "pending":
            self.store.set_status(charge["id"], "succeeded")
            charge = self.store.get(charge["id"])
            assert charge is not None
            await self._notify(charge)
        return web.json_response(public_charge(charge))

    async def ewallet_decide(self, request: web.Request) -> web.Response:
        charge = self.store.get(request.match_info["charge_id"])
        if charge is None or charge["method"] != "ewallet":
            return _error(404, "not_found", "No such e-wallet payment.")
        if charge["status"] == "pending":
            if request.match_info["decision"] == "approve":
                self.store.set_status(charge["id"], "succeeded")
            else:
                self.store.set_status(charge["id"], "failed", "The e-wallet payment was denied.")
            charge = self.store.get(charge["id"])
            assert charge is not None
            await self._notify(charge)
        return web.json_response(public_charge(charge))


def build_gateway(ctx: Context, store: ChargeStore) -> web.Application:
    gw = _Gateway(ctx, store)
    pay = web.Application()
    pay.router.add_get("/fields", gw.fields)
    pay.router.add_get("/3ds/{charge_id}", gw.three_ds)
    pay.router.add_get("/va/simulator", gw.va_simulator)
    pay.router.add_post("/va/simulator/pay", gw.simulate_va_payment)
    pay.router.add_get("/ewallet/{charge_id}", gw.ewallet_page)
    pay.router.add_get("/ewallet/{charge_id}/qr.svg", gw.ewallet_qr)
    pay.router.add_post("/ewallet/{charge_id}/{decision:approve|deny}", gw.ewallet_decide)
    pay.router.add_post("/v1/charges", gw.create_charge)
    pay.router.add_get("/v1/charges/{charge_id}", gw.get_charge)
    pay.router.add_post("/v1/charges/{charge_id}/3ds", gw.submit_otp)
    (host,) = COMPANY_HOSTS["gateway"]
    return company_app(ctx, "gateway", {host: pay})
