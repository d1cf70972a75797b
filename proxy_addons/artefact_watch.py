"""Artefact watch: payment artefacts minted by allowed roles, searched for in every later flow.

Order ids, charge ids, card tokens and idempotency keys that commerce or the gateway put in
their JSON answers (the profile's `payment.artefacts`; by default the fields found by name) are
harvested from each answer of a role allowed to process payments. From then on every request,
answer and WebSocket message of the same test is searched for them in every encoding, with the
canary scanner (per test, like the buyer's canaries: a purchase mints a handful of values, so
the scanner stays small; its rebuild when one is added is measured by
benchmarks/artefact_watch.py).
Results go to `flow.metadata["paywitness.record_extra"]` (`artefacts_minted`, `artefact_hits`),
which the backend recorder adds to the flow's record, so this addon comes before the recorder.
No raw value is written: hits and mints carry a salted hash.

Standalone:

    mitmdump -s proxy_addons/artefact_watch.py -s proxy_addons/backend_recorder.py \
        --set paywitness_profile=fixtures/profiles/demo.yaml --set paywitness_ledger=run.jsonl
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from paywitness.addon_options import add_profile_option, configured_classifier
from paywitness.artefacts import Minted, harvest
from paywitness.canaries import (
    Canary,
    CanaryHit,
    CanaryKind,
    CanaryScanner,
    CanarySet,
    new_salt,
)
from paywitness.classify import Classifier
from paywitness.identity import ServerIdentity

__all__ = ["EXTRA_KEY", "MAX_ARTEFACTS", "WS_EXTRA_KEY", "ArtefactWatch"]

#: Facts for the flow's ledger record (merged into its `extra` by the recorder).
EXTRA_KEY = "paywitness.record_extra"
#: The same per WebSocket message index.
WS_EXTRA_KEY = "paywitness.ws_record_extra"
#: Harvesting stops here, per test.
MAX_ARTEFACTS = 200
_MAX_BODY = 4 * 1024 * 1024
_MEDIA = ("image/", "font/", "audio/", "video/", "application/wasm")
# The scanner's opaque-token kind: artefacts are matched case-insensitively, in every encoding.
_KIND: CanaryKind = "marker"


_KEPT_SCOPES = 16  # tests whose artefacts stay tracked (xdist: each worker has its own proxy)


@dataclass
class _Scope:
    values: dict[str, Minted] = field(default_factory=dict)
    # salted hash -> (artefact name, role that minted it)
    meta: dict[str, tuple[str, str]] = field(default_factory=dict)
    scanner: CanaryScanner | None = None


def _test(flow: http.HTTPFlow) -> str | None:
    """The test a flow belongs to (set by the recorder's requestheaders, which runs first)."""
    test = flow.metadata.get("paywitness.test")
    return str(test) if test else None


def _addr(addr: Any) -> str | None:
    return f"{addr[0]}:{addr[1]}" if addr else None


def _hit_dict(hit: CanaryHit, meta: dict[str, tuple[str, str]]) -> dict[str, Any]:
    name, minted_by = meta.get(hit.canary_hash, ("artefact", ""))
    return {
        "name": name,
        "hash": hit.canary_hash,
        "location": hit.location,
        # The scanner names the value by its kind; the record names the artefact.
        "chain": hit.chain.replace(_KIND, name),
        "minted_by": minted_by,
    }


class ArtefactWatch:
    """Harvests payment artefacts from allowed roles' answers and finds them everywhere after."""

    def __init__(self, classifier: Classifier | None = None) -> None:
        self.classifier = classifier
        self._salt = new_salt()
        self._lock = threading.Lock()
        # Per test, like the buyer's canaries: a test's purchase mints a handful of values, so
        # its scanner stays small (a run-wide one grew to seconds per rebuild).
        self._scopes: OrderedDict[str | None, _Scope] = OrderedDict()
        self.harvested = 0

    # -- options (standalone use) -------------------------------------------------------------
    def load(self, loader: Loader) -> None:
        add_profile_option(loader)

    def configure(self, updated: set[str]) -> None:
        classifier = configured_classifier(updated)
        if classifier is not None:
            self.classifier = classifier
        if "paywitness_profile" in updated and self.classifier is None:
            # Nothing to harvest without roles; the recorder alone still works, so only say so.
            ctx.log.warn(
                "artefact_watch: no paywitness_profile set, so no role may mint artefacts "
                "(--set paywitness_profile=PROFILE.yaml)"
            )

    # -- in-process API -----------------------------------------------------------------------
    def salted_hash(self, value: str) -> str:
        return CanarySet((), self._salt).salted_hash(value)

    def add(self, minted: list[Minted], role: str, test: str | None = None) -> list[dict[str, Any]]:
        """Track these values in `test`'s flows from now on; what to record (no raw values)."""
        with self._lock:
            scope = self._scopes.get(test)
            if scope is None:
                scope = self._scopes[test] = _Scope()
                while len(self._scopes) > _KEPT_SCOPES:
                    self._scopes.popitem(last=False)
            fresh = [m for m in minted if m.value not in scope.values]
            room = MAX_ARTEFACTS - len(scope.values)
            if room < len(fresh):
                ctx.log.warn(f"artefact_watch: {MAX_ARTEFACTS} artefacts tracked, no more")
                fresh = fresh[: max(room, 0)]
            for m in fresh:
                scope.values[m.value] = m
                scope.meta[self.salted_hash(m.value)] = (m.name, role)
            if fresh:
                canaries = tuple(Canary(_KIND, v) for v in scope.values)
                scope.scanner = CanaryScanner(CanarySet(canaries, self._salt))
                self.harvested += len(fresh)
        return [
            {"name": m.name, "path": m.path, "source": m.source, "hash": self.salted_hash(m.value)}
            for m in minted
        ]

    def scan(
        self, data: bytes | str, location: str, *, test: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        """Artefacts of `test` in data observed at `location`, as hit records."""
        scope = self._scopes.get(test)
        scanner = scope.scanner if scope is not None else None
        if scope is None or scanner is None or not data:
            return []
        hits = scanner.scan(data[:_MAX_BODY], location, **kw)
        # A partial hit is a word of a longer value: artefacts are opaque, only whole ones count.
        return [_hit_dict(h, scope.meta) for h in hits if not h.partial]

    # -- mitmproxy events ---------------------------------------------------------------------
    def request(self, flow: http.HTTPFlow) -> None:
        req, test = flow.request, _test(flow)
        hits = self.scan(req.path, "url", test=test)
        for name, value in req.headers.items(multi=True):
            low = name.lower()
            if low not in ("host", ":authority", "content-length"):
                hits += self.scan(value, f"header:{low}", test=test)
        hits += self._scan_body(req.raw_content, "request.body", req.headers, test)
        self._store(flow, "artefact_hits", hits)

    def response(self, flow: http.HTTPFlow) -> None:
        resp, test = flow.response, _test(flow)
        if resp is None or flow.metadata.get("paywitness.marker"):
            return
        hits: list[dict[str, Any]] = []
        for name, value in resp.headers.items(multi=True):
            low = name.lower()
            if low not in ("content-length", "date", "content-type", "content-encoding"):
                hits += self.scan(value, f"response.header:{low}", test=test)
        hits += self._scan_body(resp.raw_content, "response.body", resp.headers, test)
        self._store(flow, "artefact_hits", hits)
        self._harvest(flow, resp, test)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        ws = flow.websocket
        if ws is None or not ws.messages:
            return
        msg = ws.messages[-1]
        direction = "client->server" if msg.from_client else "server->client"
        hits = self.scan(msg.content, f"ws:{direction}", test=_test(flow))
        if hits:
            per_message = flow.metadata.setdefault(WS_EXTRA_KEY, {})
            per_message[len(ws.messages) - 1] = {"artefact_hits": hits}

    # -- helpers ------------------------------------------------------------------------------
    def _scan_body(
        self, body: bytes | None, where: str, headers: http.Headers, test: str | None
    ) -> list[dict[str, Any]]:
        ctype = headers.get("content-type")
        if not body or (ctype or "").lower().startswith(_MEDIA):
            return []
        encoding = headers.get("content-encoding")
        return self.scan(body, where, test=test, content_type=ctype, content_encoding=encoding)

    def _harvest(self, flow: http.HTTPFlow, resp: http.Response, test: str | None) -> None:
        classifier = self.classifier
        if classifier is None or "json" not in (resp.headers.get("content-type") or ""):
            return
        req = flow.request
        host = str(flow.metadata.get("paywitness.host") or req.pretty_host).lower()
        certs = flow.server_conn.certificate_list
        identity = ServerIdentity(
            address=_addr(flow.server_conn.peername),
            organization=certs[0].organization if certs else None,
            headers=dict(resp.headers),
        )
        c = classifier.classify(host, req.method, req.path, identity)
        if c.role not in classifier.profile.payment.allowed_roles:
            return
        body = resp.get_content(strict=False)
        if not body or len(body) > _MAX_BODY:
            return
        minted = harvest(body, classifier.profile.payment.artefacts, endpoint=c.payment_class)
        if minted:
            self._store(flow, "artefacts_minted", self.add(minted, c.role, test))

    @staticmethod
    def _store(flow: http.HTTPFlow, key: str, items: list[dict[str, Any]]) -> None:
        if items:
            extra: dict[str, Any] = flow.metadata.setdefault(EXTRA_KEY, {})
            extra.setdefault(key, []).extend(items)


addons = [ArtefactWatch()]
