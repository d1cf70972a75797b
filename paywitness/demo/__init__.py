"""The built-in demo shop: a social storefront, an e-commerce back end and a payment gateway.

Three companies, each one aiohttp server on its own 127.0.0.1 port that dispatches by Host
header, run on a background thread with its own event loop::

    with DemoShop(violations=["invoice-on-social"]) as shop:
        shop.host_map  # {"shop.social.test": "https://127.0.0.1:40123", ...}
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import sqlite3
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from paywitness.demo._commerce import build_commerce
from paywitness.demo._context import (
    COMPANY_HOSTS,
    ORGANISATIONS,
    AccessLogEntry,
    Context,
    DemoMode,
)
from paywitness.demo._gateway import build_gateway
from paywitness.demo._social import (
    RELAYED_COMMERCE_HOST,
    SOCIAL_SERVES_COMMERCE,
    SocialState,
    build_social,
)
from paywitness.demo._store import ChargeStore, OrderStore
from paywitness.demo._tls import DemoPki, make_pki
from paywitness.demo.violations import CATALOG, Violation, get_violation, validate_violations
from paywitness.errors import ConfigError

__all__ = [
    "CATALOG",
    "COMPANY_HOSTS",
    "AccessLogEntry",
    "DemoShop",
    "Violation",
    "get_violation",
]

_START_TIMEOUT = 15.0
_SHUTDOWN_TIMEOUT = 1.0


def _listening_socket() -> socket.socket:
    # IPPROTO_TCP explicitly: with proto 0 asyncio skips TCP_NODELAY and Nagle stalls ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DemoShop:
    """The three demo companies; start them, point a browser (or the proxy) at `host_map`."""

    def __init__(
        self,
        *,
        violations: Iterable[str] = (),
        baseline: bool = False,
        data_dir: Path | None = None,
        tls: bool = True,
    ) -> None:
        self._mode = DemoMode(validate_violations(violations), bool(baseline))
        self._data_dir_arg = data_dir
        self._tls = tls
        self.host_map: dict[str, str] = {}
        self.companies: dict[str, int] = {}
        self.ca_cert_path: Path | None = None
        self._ctx: Context | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._sockets: list[socket.socket] = []
        self._orders: OrderStore | None = None
        self._charges: ChargeStore | None = None
        self._social: SocialState | None = None
        self._tmp_dir: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> DemoShop:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start every company on 127.0.0.1, port 0; ConfigError if anything is in the way."""
        if self.running:
            return
        try:
            self._start()
        except ConfigError:
            self.stop()
            raise
        except (OSError, RuntimeError, TimeoutError, ValueError, sqlite3.Error) as e:
            self.stop()
            raise ConfigError(f"the demo shop could not start: {e}") from e

    def _start(self) -> None:
        data_dir = self._prepare_data_dir()
        pki: DemoPki | None = None
        if self._tls:
            companies = {c: (ORGANISATIONS[c], list(hosts)) for c, hosts in COMPANY_HOSTS.items()}
            if self._mode.has(SOCIAL_SERVES_COMMERCE):
                # Social's certificate is valid for the commerce name: only its O= tells.
                companies["social"][1].append(RELAYED_COMMERCE_HOST)
            pki = make_pki(data_dir / "tls", companies)
            self.ca_cert_path = pki.ca_cert_path
        self._orders = OrderStore(data_dir / "commerce.sqlite3")
        self._charges = ChargeStore(data_dir / "gateway.sqlite3")
        self._social = SocialState()
        ctx = Context(
            scheme="https" if pki else "http",
            client_ssl=pki.client_context() if pki else None,
            mode=self._mode,
            secret_keys={a: "sk_demo_" + secrets.token_hex(16) for a in ("commerce", "social")},
        )
        self._ctx = ctx
        sockets = {}
        for company in COMPANY_HOSTS:
            sockets[company] = _listening_socket()
            self._sockets.append(sockets[company])
            ctx.ports[company] = sockets[company].getsockname()[1]
        apps = {
            "social": build_social(ctx, self._orders, self._social),
            "commerce": build_commerce(ctx, self._orders),
            "gateway": build_gateway(ctx, self._charges),
        }
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="paywitness-demo-shop", daemon=True
        )
        self._thread.start()

        async def serve() -> None:
            ctx.session = aiohttp.ClientSession()
            for company, app in apps.items():
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
                await runner.setup()
                self._runners.append(runner)
                ssl_context = pki.server_context(company) if pki else None
                await web.SockSite(runner, sockets[company], ssl_context=ssl_context).start()

        asyncio.run_coroutine_threadsafe(serve(), loop).result(_START_TIMEOUT)
        self.companies = dict(ctx.ports)
        self.host_map = {
            host: f"{ctx.scheme}://127.0.0.1:{ctx.ports[company]}"
            for company, hosts in COMPANY_HOSTS.items()
            for host in hosts
        }
        if self._mode.has(SOCIAL_SERVES_COMMERCE):
            # Fixed at start: the name now resolves to the social company's server.
            self.host_map[RELAYED_COMMERCE_HOST] = f"{ctx.scheme}://127.0.0.1:{ctx.ports['social']}"

    def _prepare_data_dir(self) -> Path:
        if self._data_dir_arg is None:
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="paywitness-demo-"))
            return self._tmp_dir
        try:
            self._data_dir_arg.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"demo data_dir {self._data_dir_arg} cannot be created ({e.strerror}); "
                "pass a writable folder or None for a temporary one"
            ) from e
        return self._data_dir_arg

    def stop(self) -> None:
        """Stop every server and free the ports; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and loop.is_running():

            async def shutdown() -> None:
                if self._social is not None:
                    await self._social.close_chats()
                for runner in reversed(self._runners):
                    await runner.cleanup()
                if self._ctx is not None and self._ctx.session is not None:
                    await self._ctx.session.close()

            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(_START_TIMEOUT)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(_START_TIMEOUT)
        if loop is not None and not loop.is_running():
            loop.close()
        for sock in self._sockets:
            sock.close()
        for store in (self._orders, self._charges):
            if store is not None:
                store.close()
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
        self._loop = self._thread = None
        self._runners, self._sockets = [], []
        self._orders = self._charges = None
        self._tmp_dir = None
        self.host_map, self.companies = {}, {}

    # --- behaviour ---------------------------------------------------------------------------
    def configure(self, *, violations: Iterable[str] = (), baseline: bool = False) -> None:
        """Switch behaviour live (the next request sees it); unknown names raise ConfigError."""
        self._mode = DemoMode(validate_violations(violations), bool(baseline))
        if self._ctx is not None:
            self._ctx.mode = self._mode

    @property
    def violations(self) -> frozenset[str]:
        return self._mode.violations

    @property
    def baseline(self) -> bool:
        return self._mode.baseline

    def restock(self) -> None:
        """The catalogue back to its starting stock: each scenario finds the same shop, whatever
        ran before it (a `--full` run buys the first product about 50 times)."""
        if self._orders is not None:
            self._orders.restock()

    def reset(self) -> None:
        """Forget the access log and beacons (orders and charges stay)."""
        if self._ctx is not None:
            self._ctx.log.clear()
        if self._social is not None:
            self._social.clear_beacons()

    # --- ground truth ------------------------------------------------------------------------
    def access_log(self) -> list[AccessLogEntry]:
        """Every request the servers answered since start or the last reset, oldest first."""
        return self._ctx.log.entries() if self._ctx is not None else []

    def requests_containing(self, value: str | bytes) -> list[AccessLogEntry]:
        """Answered requests whose target, headers or body contain `value` verbatim."""
        needle = value.encode() if isinstance(value, str) else value
        return self._ctx.log.containing(needle) if self._ctx is not None else []

    def charges_for(self, order_id: str) -> list[dict[str, Any]]:
        """The gateway's own record of charges for an order (card: BIN and last 4 only)."""
        return self._charges.for_order(order_id) if self._charges is not None else []

    def order(self, order_id: str) -> dict[str, Any] | None:
        """Commerce's order row (with its items), or None."""
        return self._orders.order(order_id) if self._orders is not None else None

    def beacons(self) -> list[dict[str, Any]]:
        """Promotion beacons events.social.test accepted since start or the last reset."""
        return self._social.beacon_list() if self._social is not None else []

    def resolver_rules(self) -> str:
        """Chromium ``--host-resolver-rules`` value mapping every demo host to its port."""
        return ", ".join(
            f"MAP {host} 127.0.0.1:{self.companies[company]}"
            for company, hosts in COMPANY_HOSTS.items()
            for host in hosts
        )
