"""State shared by the three demo companies: hosts, live mode, access log, backend calls."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

__all__ = [
    "BACKEND_HEADER",
    "COMPANY_HOSTS",
    "LOG_NOW",
    "ORGANISATIONS",
    "AccessLog",
    "AccessLogEntry",
    "Context",
    "DemoMode",
    "Via",
    "company_app",
    "origin",
    "url",
]

Via = Literal["browser", "backend"]

# Marks a server-to-server call; such calls dial the other company's 127.0.0.1 port directly.
BACKEND_HEADER = "X-Paywitness-Demo-Backend"

COMPANY_HOSTS: dict[str, tuple[str, ...]] = {
    "social": ("shop.social.test", "api.social.test", "events.social.test", "chat.social.test"),
    "commerce": ("checkout.commerce.test", "api.commerce.test", "invoice.commerce.test"),
    "gateway": ("pay.gateway.test",),
}
ORGANISATIONS = {
    "social": "Social Demo Co",
    "commerce": "Commerce Demo Co",
    "gateway": "Gateway Demo Co",
}
_HOST_COMPANY = {h: c for c, hosts in COMPANY_HOSTS.items() for h in hosts}
_DEMO_ORIGINS = frozenset(f"https://{h}" for h in _HOST_COMPANY)


def origin(host: str) -> str:
    """The browser origin of a demo host."""
    return f"https://{host}"


def url(host: str, path: str = "/") -> str:
    """The absolute URL a browser uses (always https: the proxy maps hosts to ports)."""
    return f"https://{host}{path}"


@dataclass(frozen=True)
class DemoMode:
    """How the shop behaves right now: compliant, baseline (pre-migration) or violating."""

    violations: frozenset[str] = frozenset()
    baseline: bool = False

    def has(self, violation: str) -> bool:
        return violation in self.violations


@dataclass(frozen=True)
class AccessLogEntry:
    """One request a demo server answered: the ground truth the ledger is compared with."""

    company: str
    host: str
    method: str
    path: str
    status: int
    ts: float
    via: Via


class AccessLog:
    """Thread-safe list of answered requests (written on the server loop, read by tests).

    Each entry keeps the raw request (target, headers, body) privately, so that tests can ask
    the servers themselves which requests carried a value (a card number, a buyer's email).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[AccessLogEntry, bytes]] = []

    def add(self, entry: AccessLogEntry, raw_request: bytes = b"") -> None:
        with self._lock:
            self._entries.append((entry, raw_request))

    def entries(self) -> list[AccessLogEntry]:
        with self._lock:
            return [entry for entry, _ in self._entries]

    def containing(self, needle: bytes) -> list[AccessLogEntry]:
        with self._lock:
            return [entry for entry, raw in self._entries if needle in raw]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_MAX_KEPT_BODY = 256 * 1024


async def _raw_request(request: web.Request) -> bytes:
    head = (
        f"{request.method} {request.path_qs} HTTP/{request.version.major}.{request.version.minor}"
    )
    lines = [head] + [f"{k}: {v}" for k, v in request.headers.items()]
    body = b""
    if request.can_read_body and request.content_length != 0:
        body = await request.read()  # aiohttp caches it: the handler reads it again
    return "\r\n".join(lines).encode("utf-8", "replace") + b"\r\n\r\n" + body[:_MAX_KEPT_BODY]


class BackendError(Exception):
    """A server-to-server call failed (connection refused, bad JSON)."""


@dataclass
class Context:
    """Everything the company servers share; lives as long as one DemoShop run."""

    scheme: str
    client_ssl: ssl.SSLContext | None
    log: AccessLog = field(default_factory=AccessLog)
    mode: DemoMode = field(default_factory=DemoMode)
    ports: dict[str, int] = field(default_factory=dict)
    secret_keys: dict[str, str] = field(default_factory=dict)
    session: aiohttp.ClientSession | None = None

    async def backend(
        self,
        method: str,
        host: str,
        path: str,
        *,
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, str]:
        """Call another company directly (never through the proxy); returns status, body, type."""
        assert self.session is not None, "backend call before the servers started"
        company = _HOST_COMPANY[host]
        target = f"{self.scheme}://127.0.0.1:{self.ports[company]}{path}"
        all_headers = {"Host": host, BACKEND_HEADER: "1", **(headers or {})}
        data = None if payload is None else json.dumps(payload)
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method,
                target,
                data=data,
                headers=all_headers,
                ssl=self.client_ssl if self.client_ssl is not None else False,
                server_hostname=host if self.client_ssl is not None else None,
            ) as resp:
                body = await resp.read()
                return resp.status, body, resp.headers.get("Content-Type", "")
        except aiohttp.ClientError as e:
            raise BackendError(f"{method} {host}{path}: {e}") from e

    async def backend_json(
        self,
        method: str,
        host: str,
        path: str,
        *,
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        status, body, _ = await self.backend(method, host, path, payload=payload, headers=headers)
        try:
            return status, json.loads(body) if body else None
        except json.JSONDecodeError as e:
            raise BackendError(f"{method} {host}{path}: answer is not JSON") from e


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A long-lived answer (a websocket) logs itself when it starts: LOG_NOW(request)(101).
LOG_NOW: web.RequestKey[Callable[[int], None]] = web.RequestKey("paywitness_log_now")


def _cors_headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin", "")
    if origin not in _DEMO_ORIGINS:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def company_app(ctx: Context, company: str, hosts: dict[str, web.Application]) -> web.Application:
    """One server per company: logs every answer, handles CORS, dispatches by Host header."""

    @web.middleware
    async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
        via: Via = "backend" if request.headers.get(BACKEND_HEADER) == "1" else "browser"
        host = request.host.rsplit(":", 1)[0].lower() if request.host else ""
        raw = b""
        logged = False

        def log(status: int) -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            entry = AccessLogEntry(
                company=company,
                host=host,
                method=request.method,
                path=request.path_qs,
                status=status,
                ts=time.time(),
                via=via,
            )
            ctx.log.add(entry, raw)

        request[LOG_NOW] = log
        status = 500
        try:
            raw = await _raw_request(request)
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as e:
            status = e.status
            raise
        finally:
            log(status)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = _cors_headers(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not headers:
                return web.Response(status=403, text="origin not allowed")
            headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            wanted = request.headers.get("Access-Control-Request-Headers")
            if wanted:
                headers["Access-Control-Allow-Headers"] = wanted
            headers["Access-Control-Max-Age"] = "600"
            return web.Response(status=204, headers=headers)
        try:
            response = await handler(request)
        except web.HTTPException as e:
            e.headers.update(headers)
            raise
        if not response.prepared:
            response.headers.update(headers)
        return response

    app = web.Application(middlewares=[access_log, cors])
    for host, sub in hosts.items():
        app.add_domain(host, sub)
    return app
