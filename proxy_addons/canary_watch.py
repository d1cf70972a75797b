"""Canary watch: searches every flow for the current test's canaries, in every encoding.

Scanned: URL path and query, every request header (Cookie, Referer, custom ones), the request
body, every response header (Set-Cookie included) and the response body (a response that echoes
buyer data hands it to whoever serves it), and each WebSocket message in both directions.
Hits go to `flow.metadata["paywitness.canary_hits"]` (HTTP) and
`flow.metadata["paywitness.ws_canary_hits"][message index]` (WebSocket), where the backend
recorder picks them up, so this addon must come before the recorder.

In-process the pytest fixtures call `set_canaries` as each test starts and ends. Standalone it
reads a canary file (see `paywitness.canary_file`):

    mitmdump -s proxy_addons/canary_watch.py -s proxy_addons/backend_recorder.py \
        --set paywitness_canaries=canaries.json --set paywitness_ledger=run.jsonl
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from paywitness.canaries import CanaryHit, CanaryScanner, CanarySet
from paywitness.canary_file import read_canary_file
from paywitness.errors import ConfigError

__all__ = ["HITS_KEY", "MAX_SCAN_BYTES", "SCAN_MS_KEY", "WS_HITS_KEY", "CanaryWatch"]

HITS_KEY = "paywitness.canary_hits"
WS_HITS_KEY = "paywitness.ws_canary_hits"
SCAN_MS_KEY = "paywitness.canary_scan_ms"
#: Bodies are searched up to this many bytes (the ledger keeps the true size).
MAX_SCAN_BYTES = 4 * 1024 * 1024
# Media carries no buyer data a browser script could read back; skipping it keeps the proxy fast.
_BINARY_TYPES = ("image/", "font/", "audio/", "video/", "application/font", "application/wasm")


def _is_binary(content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    return ct.startswith(_BINARY_TYPES) and "svg" not in ct


class CanaryWatch:
    """Scans each flow for the active canary set; results go into the flow's metadata."""

    def __init__(self, canaries: CanarySet | None = None) -> None:
        self._scanner: CanaryScanner | None = None
        self._lock = threading.Lock()
        self.scans = 0
        self.bytes_scanned = 0
        self.seconds = 0.0
        self.set_canaries(canaries)

    # -- configuration --------------------------------------------------------------------------
    def set_canaries(self, canaries: CanarySet | None) -> None:
        """Search for these canaries from now on (None or empty: search for nothing)."""
        # Cheap: scanners share their compiled variants per canary set (the redactor has
        # usually compiled this test's set already).
        scanner = CanaryScanner(canaries) if canaries and canaries.canaries else None
        self._scanner = scanner  # one reference swap: the proxy thread sees old or new, whole

    @property
    def canaries(self) -> CanarySet | None:
        scanner = self._scanner
        return scanner.canary_set if scanner is not None else None

    def scan(self, data: bytes | str, location: str) -> list[CanaryHit]:
        """Search data observed elsewhere (the browser's own channels) with the same scanner."""
        scanner = self._scanner
        if scanner is None or not data:
            return []
        started = time.perf_counter()
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        data = data[:MAX_SCAN_BYTES]
        hits = scanner.scan(data, location)
        self._count(started, len(data))
        return hits

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "paywitness_canaries",
            str,
            "",
            "Path of a canary file (JSON with kinds and raw values) to search every flow for",
        )

    def configure(self, updated: set[str]) -> None:
        if "paywitness_canaries" in updated and ctx.options.paywitness_canaries:
            path = Path(ctx.options.paywitness_canaries)
            try:
                self.set_canaries(read_canary_file(path))
            except ConfigError as e:
                raise exceptions.OptionsError(str(e)) from e

    # -- mitmproxy events -----------------------------------------------------------------------
    def request(self, flow: http.HTTPFlow) -> None:
        scanner = self._scanner
        if scanner is None:
            return
        req = flow.request
        started = time.perf_counter()
        hits = scanner.scan(req.path, "url")
        for name, value in req.headers.items(multi=True):
            low = name.lower()
            if low in ("host", ":authority", "content-length"):
                continue
            hits += scanner.scan(value, f"header:{low}")
        size = self._scan_body(
            scanner,
            hits,
            req.raw_content,
            "request.body",
            req.headers.get("content-type"),
            req.headers.get("content-encoding"),
        )
        self._store(flow, hits, started, len(req.path) + size)

    def response(self, flow: http.HTTPFlow) -> None:
        scanner = self._scanner
        resp = flow.response
        if scanner is None or resp is None or flow.metadata.get("paywitness.marker"):
            return
        started = time.perf_counter()
        hits: list[CanaryHit] = []
        for name, value in resp.headers.items(multi=True):
            low = name.lower()
            if low in ("content-length", "date", "content-type", "content-encoding"):
                continue
            where = "header:set-cookie" if low == "set-cookie" else f"response.header:{low}"
            hits += scanner.scan(value, where)
        size = self._scan_body(
            scanner,
            hits,
            resp.raw_content,
            "response.body",
            resp.headers.get("content-type"),
            resp.headers.get("content-encoding"),
        )
        self._store(flow, hits, started, size)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        scanner = self._scanner
        ws = flow.websocket
        if scanner is None or ws is None or not ws.messages:
            return
        msg = ws.messages[-1]
        started = time.perf_counter()
        direction = "client->server" if msg.from_client else "server->client"
        content = msg.content[:MAX_SCAN_BYTES]
        hits = scanner.scan(content, f"ws:{direction}")
        self._count(started, len(content))
        if hits:
            per_message: dict[int, list[dict[str, Any]]] = flow.metadata.setdefault(WS_HITS_KEY, {})
            per_message[len(ws.messages) - 1] = [h.to_dict() for h in hits]

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _scan_body(
        scanner: CanaryScanner,
        hits: list[CanaryHit],
        body: bytes | None,
        where: str,
        content_type: str | None,
        content_encoding: str | None,
    ) -> int:
        if not body or _is_binary(content_type):
            return 0
        data = body[:MAX_SCAN_BYTES]
        hits += scanner.scan(
            data, where, content_type=content_type, content_encoding=content_encoding
        )
        return len(data)

    def _store(self, flow: http.HTTPFlow, hits: list[CanaryHit], started: float, size: int) -> None:
        elapsed = self._count(started, size)
        flow.metadata[SCAN_MS_KEY] = flow.metadata.get(SCAN_MS_KEY, 0.0) + elapsed * 1000
        if hits:
            flow.metadata.setdefault(HITS_KEY, []).extend(h.to_dict() for h in hits)

    def _count(self, started: float, size: int) -> float:
        elapsed = time.perf_counter() - started
        with self._lock:
            self.scans += 1
            self.bytes_scanned += size
            self.seconds += elapsed
        return elapsed


addons = [CanaryWatch()]
