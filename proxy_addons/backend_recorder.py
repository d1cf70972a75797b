"""Backend recorder: one flow record per finished flow, appended to the run's ledger.

Every record carries the step it happened in, the role that served it (by the profile) and the
server address actually dialled. Step marks arrive in-process (`set_step`) or as requests to
`https://paywitness.invalid/step/NAME`, which the recorder answers itself.

Standalone: mitmdump -s proxy_addons/backend_recorder.py \
    --set paywitness_profile=fixtures/profiles/demo.yaml --set paywitness_ledger=run.jsonl
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from paywitness.addon_options import add_profile_option, configured_classifier
from paywitness.classify import MARKER_HOST, Classifier
from paywitness.evidence.provenance import describe_chain
from paywitness.identity import ServerIdentity
from paywitness.ledger import FlowRecord, LedgerWriter
from paywitness.records import STEP_NAME, UNLABELLED, RecordBook
from paywitness.seamless.digest import displays_for, response_digest

__all__ = ["STEP_NAME", "BackendRecorder"]

_META = "paywitness."
_DIGEST_MAX_BODY = 2_000_000


def _addr(addr: Any) -> str | None:
    if not addr:
        return None
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _resilience_facts(flow: http.HTTPFlow) -> dict[str, Any]:
    """Injected fault, idempotency key (hashed: equality is all an analyser needs), replay."""
    out: dict[str, Any] = {}
    fault = flow.metadata.get(_META + "fault")
    if fault:
        out["fault"] = dict(fault)
    key = flow.request.headers.get("idempotency-key", "").strip()
    if key:
        out["idempotency_key"] = "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:24]
    if flow.response is not None:
        replayed = flow.response.headers.get("idempotent-replayed", "")
        if replayed.lower() == "true":
            out["idempotent_replayed"] = True
    return out


class BackendRecorder:
    """Writes the ledger: which back end every request reached, in which step.

    The current test and step, the id sequence, the masking and the ledgers live in the
    `RecordBook` it is given (the run's, shared with every other record writer), or in one of
    its own when it runs standalone under mitmdump.
    """

    def __init__(self, *, book: RecordBook | None = None) -> None:
        self.book = book if book is not None else RecordBook()
        self._owns_ledger = book is None
        self._chains_noted: set[str] = set()  # upstream connections whose chain is recorded

    @property
    def step(self) -> str:
        return self.book.step

    # -- options (standalone use) -------------------------------------------------------------
    def load(self, loader: Loader) -> None:
        add_profile_option(loader)
        loader.add_option("paywitness_ledger", str, "", "Path of the JSONL ledger to append to")
        loader.add_option("paywitness_step", str, UNLABELLED, "Step label until a step mark")
        loader.add_option("paywitness_worker", str, "main", "Worker name stamped on each record")

    def configure(self, updated: set[str]) -> None:
        classifier = configured_classifier(updated)
        if classifier is not None:
            self.book.classifier = classifier
        if "paywitness_ledger" in updated and ctx.options.paywitness_ledger:
            path = Path(ctx.options.paywitness_ledger)
            try:
                new = LedgerWriter(path)
            except OSError as e:
                raise exceptions.OptionsError(
                    f"paywitness_ledger {str(path)!r} cannot be opened for appending: {e}"
                ) from e
            if self.book.ledger is not None and self._owns_ledger:
                self.book.ledger.close()
            self.book.ledger, self._owns_ledger = new, True
        if "paywitness_step" in updated:
            step = ctx.options.paywitness_step
            try:
                self.book.set_step(step, mark=False)
            except ValueError as e:
                raise exceptions.OptionsError(
                    f"paywitness_step {step!r} is not a step name (lowercase letters, digits, - _)"
                ) from e
        if "paywitness_worker" in updated:
            self.book.worker = ctx.options.paywitness_worker

    # -- in-process API -----------------------------------------------------------------------
    def set_step(self, step: str, *, source: str = "api") -> None:
        """Label the flows that start from now on; the change itself is recorded as a mark."""
        self.book.set_step(step, source=source)

    # -- mitmproxy events ---------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        flow.metadata[_META + "step"] = self.book.step
        flow.metadata[_META + "test"] = self.book.test
        # Before any host mapping: the name the client asked for, and where it said it was going.
        flow.metadata[_META + "host"] = req.pretty_host.lower()
        flow.metadata[_META + "authority"] = req.host.lower()
        flow.metadata[_META + "port"] = req.port
        flow.metadata[_META + "scheme"] = req.scheme
        # Answered already (e.g. 407 from proxy authentication, or another control addon): a
        # client the proxy refused must not move the step.
        if req.pretty_host.lower() == MARKER_HOST and flow.response is None:
            self._answer_marker(flow)
        elif req.pretty_host.lower() == MARKER_HOST:
            flow.metadata[_META + "marker"] = True

    def _answer_marker(self, flow: http.HTTPFlow) -> None:
        parts = [p for p in flow.request.path.split("?", 1)[0].split("/") if p]
        if len(parts) == 2 and parts[0] == "step" and STEP_NAME.match(parts[1]):
            self.set_step(parts[1], source="marker-url")
            flow.response = http.Response.make(
                200,
                f"paywitness: step is now {parts[1]}\n".encode(),
                {"content-type": "text/plain"},
            )
        else:
            flow.response = http.Response.make(
                404, b"paywitness: use /step/NAME\n", {"content-type": "text/plain"}
            )
        flow.metadata[_META + "marker"] = True

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        ws = flow.websocket
        if ws is None or not ws.messages:
            return
        msg = ws.messages[-1]
        # Canary hits of this message, left by the canary watch addon (which runs first).
        ws_hits = flow.metadata.get(_META + "ws_canary_hits") or {}
        hits = list(ws_hits.pop(len(ws.messages) - 1, []))
        host = str(flow.metadata.get(_META + "host") or flow.request.pretty_host)
        book = self.book
        role, rule = book.classifier.role_of(host) if book.classifier else ("unknown", "")
        book.write(
            FlowRecord(
                id=book.next_id(),
                kind="websocket",
                ts_start=msg.timestamp,
                ts_end=msg.timestamp,
                step=book.step,
                method="WS",
                url=book.mask_url(flow.request.pretty_url),
                scheme=flow.request.scheme,
                host=host,
                path=book.mask_url(flow.request.path),
                server_addr=_addr(flow.server_conn.peername),
                request_size=len(msg.content) if msg.from_client else 0,
                response_size=0 if msg.from_client else len(msg.content),
                role=role,
                rule=rule,
                worker=book.worker,
                test=book.test,
                canary_hits=hits,
                extra={
                    "direction": "client->server" if msg.from_client else "server->client",
                    **(flow.metadata.get(_META + "ws_record_extra") or {}).pop(
                        len(ws.messages) - 1, {}
                    ),
                },
            )
        )

    def done(self) -> None:
        if self.book.ledger is not None and self._owns_ledger:
            self.book.ledger.close()

    # -- the record ---------------------------------------------------------------------------
    def _record(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(_META + "recorded"):
            return
        flow.metadata[_META + "recorded"] = True
        if flow.metadata.get(_META + "marker"):
            return
        req, resp = flow.request, flow.response
        host = str(flow.metadata.get(_META + "host") or req.pretty_host).lower()
        scheme = str(flow.metadata.get(_META + "scheme") or req.scheme)
        port = int(flow.metadata.get(_META + "port") or req.port)
        default_port = {"http": 80, "https": 443}.get(scheme)
        netloc = host if port == default_port else f"{host}:{port}"
        url = f"{scheme}://{netloc}{req.path}"
        certs = flow.server_conn.certificate_list
        identity = ServerIdentity(
            address=_addr(flow.server_conn.peername),
            organization=certs[0].organization if certs else None,
            headers=dict(resp.headers) if resp is not None else {},
        )
        book = self.book
        classifier = book.classifier
        mismatch = None
        if classifier is not None:
            c = classifier.classify(host, req.method, req.path, identity)
            role, rule, pay, mismatch = c.role, c.rule, c.payment_class, c.identity_mismatch
        else:
            role, rule, pay = "unknown", "", None
        if flow.metadata.get(_META + "blocked") and role == "unknown":
            role, rule = "browser", "unmapped-host-blocked"
        extra: dict[str, Any] = {}
        if mismatch is not None:
            extra["identity_mismatch"] = mismatch
        authority = flow.metadata.get(_META + "authority")
        if authority and authority != host and not flow.metadata.get(_META + "mapped_to"):
            extra["host_mismatch"] = {"host_header": host, "authority": authority}
        if flow.metadata.get(_META + "mapped_to"):
            extra["mapped_to"] = flow.metadata[_META + "mapped_to"]
        if flow.metadata.get(_META + "blocked"):
            extra["blocked"] = True
        if flow.client_conn.tls_version:
            extra["client_tls"] = flow.client_conn.tls_version
        if flow.server_conn.tls_version:
            extra["server_tls"] = flow.server_conn.tls_version
        if certs and flow.server_conn.id not in self._chains_noted:
            # Provenance (run.json): the whole chain, once per upstream connection.
            self._chains_noted.add(flow.server_conn.id)
            extra["server_chain"] = describe_chain(c.to_pem() for c in certs)
        if certs:
            leaf = certs[0]
            extra["server_cert"] = {
                "cn": leaf.cn,
                "organization": leaf.organization,
                "issuer": dict(leaf.issuer).get("O") if leaf.issuer else None,
                "sha256": leaf.fingerprint().hex(),
            }
        if flow.websocket is not None:
            extra["websocket"] = True
        if _META + "canary_scan_ms" in flow.metadata:
            extra["canary_scan_ms"] = round(float(flow.metadata[_META + "canary_scan_ms"]), 3)
        if resp is not None and classifier is not None and classifier.profile.displays:
            digest = _display_digest(classifier, host, req.method, req.path, resp)
            if digest is not None:
                extra["display_digest"] = digest
        extra.update(_resilience_facts(flow))
        extra.update(flow.metadata.get(_META + "record_extra") or {})  # other addons' facts
        if pay and resp is not None and resp.raw_content:
            # Tells a replayed answer (same body) from a new one without storing the body.
            extra["response_sha256"] = hashlib.sha256(resp.raw_content).hexdigest()[:24]
        ts_end = (
            resp.timestamp_end
            if resp is not None and resp.timestamp_end
            else (flow.error.timestamp if flow.error else time.time())
        )
        rec = FlowRecord(
            id=book.next_id(),
            kind="http",
            ts_start=req.timestamp_start,
            ts_end=float(ts_end),
            step=str(flow.metadata.get(_META + "step") or book.step),
            method=req.method,
            url=book.mask_url(url),
            scheme=scheme,
            host=host,
            port=port,
            path=book.mask_url(req.path),
            server_addr=_addr(flow.server_conn.peername),
            http_version=req.http_version,
            status=resp.status_code if resp is not None else None,
            request_size=len(req.raw_content or b""),
            response_size=len(resp.raw_content or b"") if resp is not None else 0,
            content_type=resp.headers.get("content-type") if resp is not None else None,
            role=role,
            rule=rule,
            payment_class=pay,
            error=flow.error.msg if flow.error else None,
            worker=book.worker,
            test=flow.metadata.get(_META + "test"),
            canary_hits=list(flow.metadata.get(_META + "canary_hits") or []),
            extra=extra,
        )
        flow.metadata[_META + "record_id"] = rec.id  # ties other addons' output to the record
        book.write(rec)


def _display_digest(
    classifier: Classifier, host: str, method: str, path: str, resp: http.Response
) -> dict[str, Any] | None:
    """Hashes of the display values a JSON response carried (see paywitness.seamless.digest)."""
    specs = displays_for(classifier.profile.displays, host, method, path)
    if not specs or "json" not in (resp.headers.get("content-type") or ""):
        return None
    body = resp.get_content(strict=False)
    if not body or len(body) > _DIGEST_MAX_BODY:
        return None
    return response_digest(body, specs)


addons = [BackendRecorder()]
