"""HAR capture: one redacted HAR 1.2 entry per finished flow, appended to a JSONL side file.

The entry itself is built by mitmproxy's own HAR exporter (`mitmproxy.addons.savehar`), then
masked (cookies, credentials, tokens, cards, canaries) before anything touches the disk, and
tagged with the ledger record it belongs to (`_paywitness`). `paywitness.evidence.har` groups the
entries into one HAR page per step when the run ends.

Standalone: mitmdump -s proxy_addons/backend_recorder.py -s proxy_addons/har_capture.py \
    --set paywitness_ledger=run.jsonl --set paywitness_har_entries=har-entries.jsonl
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.connection import Server

from paywitness.evidence.redaction import Redactor

__all__ = ["MAX_BODY_CHARS", "HarCapture"]

_META = "paywitness."
#: Text bodies longer than this are cut (the ledger keeps the true sizes).
MAX_BODY_CHARS = 64 * 1024


class HarCapture:
    """Writes a masked HAR entry per flow; never holds flows in memory."""

    def __init__(self, *, redactor: Redactor | None = None, path: Path | None = None) -> None:
        self.redactor = redactor or Redactor()
        self.path = path
        self.count = 0
        self._har = SaveHar()
        self._servers_seen: set[Server] = set()
        self._lock = threading.Lock()

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "paywitness_har_entries", str, "", "Path of the JSONL file of masked HAR entries"
        )

    def configure(self, updated: set[str]) -> None:
        if "paywitness_har_entries" in updated and ctx.options.paywitness_har_entries:
            path = Path(ctx.options.paywitness_har_entries)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            except OSError as e:
                raise exceptions.OptionsError(
                    f"paywitness_har_entries {str(path)!r} cannot be written: {e}"
                ) from e
            self.path = path

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:  # a WebSocket is captured once, when it ends
            self._capture(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.response(flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._capture(flow)

    def entry(self, flow: http.HTTPFlow) -> dict[str, Any]:
        """The masked HAR entry of one flow (mitmproxy's exporter, then our masking)."""
        with self._lock:
            entry: dict[str, Any] = self._har.flow_entry(flow, self._servers_seen)
        meta = flow.metadata
        host = meta.get(_META + "host")
        if host:  # the name the browser asked for, not where the host map sent it
            scheme = meta.get(_META + "scheme") or flow.request.scheme
            port = int(meta.get(_META + "port") or flow.request.port)
            default = {"http": 80, "https": 443}.get(scheme)
            netloc = host if port == default else f"{host}:{port}"
            entry["request"]["url"] = f"{scheme}://{netloc}{flow.request.path}"
        entry["_paywitness"] = {
            "id": meta.get(_META + "record_id"),
            "step": meta.get(_META + "step"),
            "test": meta.get(_META + "test"),
        }
        _cap_body(entry)
        return self.redactor.har_entry(entry)

    def _capture(self, flow: http.HTTPFlow) -> None:
        if self.path is None or flow.metadata.get(_META + "marker"):
            return
        if flow.metadata.get(_META + "har"):
            return
        flow.metadata[_META + "har"] = True
        line = json.dumps(self.entry(flow), separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            self.count += 1


def _cap_body(entry: dict[str, Any]) -> None:
    content = (entry.get("response") or {}).get("content") or {}
    if content.get("encoding") == "base64":
        # Binary bodies (images, fonts) carry no routing evidence; the size stays.
        content.pop("encoding")
        content["text"] = ""
        content["comment"] = "binary body omitted by paywitness"
    elif len(content.get("text") or "") > MAX_BODY_CHARS:
        content["text"] = content["text"][:MAX_BODY_CHARS]
        content["comment"] = f"body cut at {MAX_BODY_CHARS} characters by paywitness"
    post = (entry.get("request") or {}).get("postData") or {}
    if len(post.get("text") or "") > MAX_BODY_CHARS:
        post["text"] = post["text"][:MAX_BODY_CHARS]
        post["comment"] = f"body cut at {MAX_BODY_CHARS} characters by paywitness"


addons = [HarCapture()]
