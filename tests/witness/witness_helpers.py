"""Witness test helpers: a phone-like HTTP client through the proxy, the witness on a thread."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPSConnection
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from playwright.sync_api import Page

from paywitness.witness_mode.command import run_witness
from paywitness.witness_mode.session import PROXY_USER, WitnessOptions, WitnessSession

__all__ = ["WAIT", "Answer", "PhoneClient", "WitnessThread", "page_config", "pay_by_hand"]

WAIT = 60.0  # every wait in these tests is bounded


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class PhoneClient:
    """What a phone does through the proxy: CONNECT with proxy auth, TLS trusting the run's CA."""

    def __init__(self, port: int, password: str | None, cafile: Path | None) -> None:
        self.port = port
        self.password = password
        self.tls = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    def _auth(self) -> dict[str, str]:
        if self.password is None:
            return {}
        token = base64.b64encode(f"{PROXY_USER}:{self.password}".encode()).decode()
        return {"Proxy-Authorization": f"Basic {token}"}

    def call(self, method: str, url: str, payload: Any = None, **headers: str) -> Answer:
        parts = urlsplit(url)
        body = None if payload is None else json.dumps(payload)
        all_headers = dict(headers)
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        conn: HTTPConnection
        if parts.scheme == "https":
            conn = HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=10)
            conn.set_tunnel(parts.hostname or "", parts.port or 443, headers=self._auth())
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
            all_headers |= self._auth()
            target = url  # absolute form: an explicit proxy request
        try:
            conn.request(method, target, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Answer(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    def _form(self, page: str, action: str) -> str:
        """The action URL of the step page's form for `action` (a step name or finish)."""
        body = self.call("GET", f"http://paywitness.invalid/{page}").body.decode()
        match = re.search(rf'action="(/{action}[^"]*)"', body.replace("&amp;", "&"))
        assert match, f"no {action!r} form on the step page"
        return f"http://paywitness.invalid{match.group(1)}"

    def mark(self, step: str) -> Answer:
        """Tap a step on the phone's step page (a POST carrying the page's mark id)."""
        return self.call("POST", self._form("", f"mark\\?step={step}&"))

    def finish(self) -> Answer:
        """Tap Finish, then confirm it on the page that asks."""
        return self.call("POST", self._form("finish", "finish"))


def page_config(answer: Answer) -> dict[str, Any]:
    """The `const PW = {...};` configuration a demo page carries."""
    match = re.search(r"const PW = (\{.*?\});\n", answer.body.decode())
    assert match, "page has no PW config"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def pay_by_hand(phone: PhoneClient, session: WitnessSession) -> dict[str, Any]:
    """The demo purchase as the person's phone makes it, marking each step from the phone."""
    buyer = {
        "name": session.buyer.name,
        "email": session.buyer.email,
        "phone": session.buyer.phone,
        "address": f"{session.buyer.street_address}, {session.buyer.city}",
    }
    assert phone.mark("browse").status == 303
    shop = phone.call("GET", session.start_url)
    assert shop.status == 200
    checkout_url = page_config(shop)["checkoutUrl"]
    assert phone.mark("checkout").status == 303
    checkout = page_config(phone.call("GET", f"{checkout_url}?sku=KOP-001"))
    order = phone.call(
        "POST", checkout["ordersUrl"], {"items": [{"sku": "KOP-001", "qty": 1}], "buyer": buyer}
    )
    assert order.status == 201, order.body
    order_data = order.json()
    assert phone.mark("pay").status == 303
    card = session.card
    charge = phone.call(
        "POST",
        "https://pay.gateway.test/v1/charges",
        {
            "method": "card",
            "account": "commerce",
            "order_id": order_data["order_id"],
            "amount": order_data["amount"],
            "currency": "IDR",
            "card": {"number": card.number, "expiry": card.expiry, "cvc": card.cvc},
        },
        **{"Idempotency-Key": order_data["idempotency_key"]},
    )
    assert charge.status in (200, 201), charge.body
    paid = phone.call(
        "POST",
        f"{checkout['payBase']}{order_data['order_id']}/pay",
        {"method": "card", "charge_id": charge.json()["id"]},
    )
    assert paid.status == 200, paid.body
    assert phone.mark("confirm").status == 303
    invoice = phone.call("GET", paid.json()["invoice_url"])
    assert invoice.status == 200
    result: dict[str, Any] = paid.json()
    return result


@dataclass
class WitnessThread:
    """`run_witness` on a thread: the session once it is ready, the exit code when it ends."""

    options: WitnessOptions
    person: Callable[[Page], None] | None = None
    out: io.StringIO = field(default_factory=io.StringIO)
    ready: threading.Event = field(default_factory=threading.Event)
    session: WitnessSession | None = None
    code: int | None = None
    error: BaseException | None = None
    keys: TextIO | None = None
    _stdin: TextIO | None = None
    _thread: threading.Thread | None = None

    def start(self) -> WitnessSession:
        r, w = os.pipe()
        self._stdin = os.fdopen(r, "r")
        self.keys = os.fdopen(w, "w")

        def ready(session: WitnessSession) -> None:
            self.session = session
            self.ready.set()

        def target() -> None:
            assert self._stdin is not None
            try:
                self.code = run_witness(
                    self.options,
                    out=self.out,
                    stdin=self._stdin,
                    on_ready=ready,
                    person=self.person,
                )
            except BaseException as e:  # reported to the test
                self.error = e
            finally:
                self.ready.set()

        self._thread = threading.Thread(target=target, name="witness-under-test", daemon=True)
        self._thread.start()
        assert self.ready.wait(WAIT), "the witness did not start"
        if self.error is not None:
            raise self.error
        assert self.session is not None
        return self.session

    def press(self, key: str, *, marks: str | None = None) -> None:
        """Type a key and Enter in the witness's terminal; with `marks`, wait until that step is
        marked (the terminal is read on the witness's thread: a Finish tapped on the step page
        right after could otherwise overtake the mark)."""
        assert self.keys is not None
        marked = threading.Event()
        if marks is not None:
            assert self.session is not None
            self.session.on_mark.append(lambda step: step == marks and marked.set())
        self.keys.write(key + "\n")
        self.keys.flush()
        if marks is not None:
            assert marked.wait(WAIT), f"the terminal did not mark {marks!r}"

    def join(self) -> int:
        assert self._thread is not None
        # The witness bounds itself (max_minutes); judging and writing the bundle come after.
        self._thread.join(self.options.max_minutes * 60 + WAIT)
        assert not self._thread.is_alive(), "the witness did not finish"
        for f in (self.keys, self._stdin):
            if f is not None:
                f.close()
        if self.error is not None:
            raise self.error
        assert self.code is not None
        return self.code
