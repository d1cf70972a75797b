"""Fixtures for the demo shop's own tests: one shop and one Chromium per module."""

from __future__ import annotations

import json
import random
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
)

from paywitness.demo import DemoShop

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Call(Protocol):
    def __call__(
        self,
        method: str,
        url: str,
        payload: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer: ...


@pytest.fixture(scope="module")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoShop]:
    """A running demo shop (TLS, data in a temp folder), shared by the module."""
    shop = DemoShop(data_dir=tmp_path_factory.mktemp("demo"))
    shop.start()
    yield shop
    shop.stop()


@pytest.fixture
def shop(demo_shop: DemoShop) -> Iterator[DemoShop]:
    """The module's shop, compliant and with an empty access log."""
    demo_shop.configure()
    demo_shop.reset()
    yield demo_shop
    demo_shop.configure()


@pytest.fixture
def call(demo_shop: DemoShop) -> Call:
    """HTTPS request to a demo URL as a browser would send it (Host and SNI = the demo host)."""
    assert demo_shop.ca_cert_path is not None
    ctx = ssl.create_default_context(cafile=str(demo_shop.ca_cert_path))

    def _call(
        method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = int(demo_shop.host_map[host].rsplit(":", 1)[1])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn = HTTPConnection(host, port, timeout=10)
        conn.sock = ctx.wrap_socket(raw, server_hostname=host)
        body = None if payload is None else json.dumps(payload)
        all_headers = {"Host": host, **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=all_headers)
        resp = conn.getresponse()
        answer = Answer(resp.status, dict(resp.getheaders()), resp.read())
        conn.close()
        return answer

    return _call


def luhn_complete(prefix: str, length: int = 16, rng: random.Random | None = None) -> str:
    """A Luhn-valid card number: `prefix`, random digits, then the check digit."""
    rng = rng or random.Random()
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


@pytest.fixture
def make_card(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Card numbers for a BIN, seeded by the test's name so that a failure reproduces."""
    rng = random.Random(request.node.nodeid)
    return lambda bin_: luhn_complete(bin_, rng=rng)


@pytest.fixture(scope="module")
def demo_playwright(pw_session: Playwright) -> Playwright:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return pw_session


@pytest.fixture(scope="module")
def demo_browser(demo_playwright: Playwright, demo_shop: DemoShop) -> Iterator[Browser]:
    """Headless Debian Chromium resolving every demo host to the shop's ports (no proxy)."""
    browser = demo_playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[f"--host-resolver-rules={demo_shop.resolver_rules()}"],
    )
    yield browser
    browser.close()


@pytest.fixture
def demo_context(demo_browser: Browser, shop: DemoShop) -> Iterator[BrowserContext]:
    """A fresh browser context (new cookies and storage) that accepts the demo CA's certs."""
    ctx = demo_browser.new_context(
        ignore_https_errors=True, viewport={"width": 1200, "height": 900}
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """`expect` waits as long as actions do (10 s, not its own 5 s): a loaded CI machine is slow
    to run a gateway round trip, and a slow answer is not what these tests are about."""
    expect.set_options(timeout=10_000)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


@pytest.fixture
def demo_page(demo_context: BrowserContext) -> Page:
    """A page in the fresh context."""
    return demo_context.new_page()
