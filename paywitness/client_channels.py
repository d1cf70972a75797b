"""Browser-side channels the proxy cannot see, read through Playwright and put in the ledger.

In every frame an init script reports `postMessage` payloads as they arrive and the bodies of
`navigator.sendBeacon` calls; at each step end the `localStorage`, `sessionStorage` and
`document.cookie` of every frame's origin are read. Each observation is searched for canaries
and written as a `client` record whose role is that of the receiving origin (the frame that got
the message, the beacon's target, the origin that owns the storage).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Error, Frame

from paywitness.attribution import frame_of
from paywitness.canaries import CanaryHit
from paywitness.frame_reads import READ_WAIT_MS
from paywitness.records import RecordBook
from paywitness.untraced import untraced

__all__ = ["BINDING", "INIT_SCRIPT", "ClientChannels"]

log = logging.getLogger(__name__)

#: The name of the exposed binding the init script reports through.
BINDING = "__paywitnessClient"

INIT_SCRIPT = """
(() => {
  if (window.__paywitnessChannels) return;
  Object.defineProperty(window, "__paywitnessChannels", {value: true});
  const report = (channel, data, extra) => {
    try {
      window.__paywitnessClient(Object.assign(
        {channel: channel, origin: location.origin, url: location.href, data: data}, extra));
    } catch (e) { /* the binding is gone while the page unloads */ }
  };
  const text = (v) => {
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  };
  const top = window === window.top;
  window.addEventListener("message", (ev) => {
    let source = "other";
    try {
      if (ev.source === window.parent && !top) source = "parent";
      else if (ev.source && ev.source !== window && ev.source.parent === window) source = "child";
    } catch (e) { /* a closed window */ }
    report("postMessage", text(ev.data), {from: ev.origin, top: top, source: source});
  }, true);
  // Who wrote each storage key: the frame and the script line that called setItem.
  if (window.Storage && Storage.prototype.setItem) {
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key, value) {
      try {
        const store = this === window.localStorage ? "localStorage" : "sessionStorage";
        report("storageWrite", "", {store: store, key: String(key), top: top,
                                    stack: String(new Error().stack || "")});
      } catch (e) { /* storage denied to this frame */ }
      return setItem.call(this, key, value);
    };
  }
  const send = navigator.sendBeacon && navigator.sendBeacon.bind(navigator);
  if (send) {
    navigator.sendBeacon = function (url, data) {
      let target = String(url);
      try { target = new URL(url, location.href).href; } catch (e) { /* reported as given */ }
      let body;
      if (data == null) body = "";
      else if (data instanceof Blob) body = data.text();
      else if (data instanceof FormData) body = new URLSearchParams(
        [...data].map(([k, v]) => [k, typeof v === "string" ? v : v.name])).toString();
      else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        body = new TextDecoder().decode(data);
      } else body = String(data);
      Promise.resolve(body).then((b) => report("sendBeacon", b, {target: target}));
      return send(url, data);
    };
  }
})();
"""

_SNAPSHOT = """() => {
  const dump = (name) => {
    const out = {};
    try {
      const s = window[name];
      for (let i = 0; i < s.length; i++) { const k = s.key(i); out[k] = s.getItem(k); }
    } catch (e) { /* opaque origins have no storage */ }
    return out;
  };
  let cookie = "";
  try { cookie = document.cookie; } catch (e) { /* sandboxed frame */ }
  return {origin: location.origin, url: location.href, localStorage: dump("localStorage"),
          sessionStorage: dump("sessionStorage"), cookie: cookie};
}"""

# The same read, given the frame's root element (as `Locator.evaluate` calls it).
_SNAPSHOT_ROOT = f"(_root) => ({_SNAPSHOT})()"

Scan = Callable[[str, str], list[CanaryHit]]
# One line of a V8 stack trace: "at fn (https://host/path:12:5)" or "at https://host/path:12:5".
_STACK_LINE = re.compile(
    r"^\s*at (?:(?P<fn>.+?) \()?(?P<url>https?://.+?):(?P<line>\d+):(?P<col>\d+)\)?$"
)


def _caller(stack: str) -> tuple[str, str, int, int] | None:
    """The first page script in a stack trace (function, URL, line, column), ours skipped."""
    for line in stack.splitlines()[1:]:
        m = _STACK_LINE.match(line)
        if m is not None:
            return m["fn"] or "(anonymous)", m["url"], int(m["line"]), int(m["col"])
    return None


RoleOf = Callable[[str], tuple[str, str]]


class ClientChannels:
    """One test's browser-side observer: attach it to each context, snapshot at step ends."""

    def __init__(self, book: RecordBook, scan: Scan) -> None:
        self.book = book
        self.scan = scan
        self.contexts: list[BrowserContext] = []
        self.records = 0
        self._seen: set[tuple[str, str, str]] = set()  # (origin, store, digest) already recorded
        # (origin, "store:key") -> the frame and script that last wrote it (setItem).
        self._writers: dict[tuple[str, str], dict[str, Any]] = {}

    # -- wiring ---------------------------------------------------------------------------------
    def attach(self, context: BrowserContext) -> None:
        """Report this context's postMessages and beacons (before any page is opened)."""
        context.expose_binding(BINDING, self._on_report)
        context.add_init_script(script=INIT_SCRIPT)
        self.contexts.append(context)

    @contextmanager
    def step_hook(self, name: str, index: int) -> Iterator[None]:
        """Witness step hook: snapshot the storage of every origin when the step ends."""
        try:
            yield
        finally:
            self.snapshot()

    # -- observations ---------------------------------------------------------------------------
    def _on_report(self, source: dict[str, Any], report: Any) -> None:
        if not isinstance(report, dict):
            return
        channel = str(report.get("channel") or "")
        data = str(report.get("data") or "")
        if channel == "postMessage":
            self._write(
                channel,
                str(report.get("url") or report.get("origin") or ""),
                [("postMessage", data)],
                {
                    "from_origin": str(report.get("from") or ""),
                    "top": report.get("top") if isinstance(report.get("top"), bool) else None,
                    "source": str(report.get("source") or ""),
                },
            )
        elif channel == "storageWrite":
            self._note_writer(report)
        elif channel == "sendBeacon":
            self._write(
                channel,
                str(report.get("target") or ""),
                [("sendBeacon.body", data)],
                {"sender_origin": str(report.get("origin") or "")},
            )

    def _note_writer(self, report: dict[str, Any]) -> None:
        """Remember which frame and script last wrote a storage key (no value is kept)."""
        origin = str(report.get("origin") or "")
        store = str(report.get("store") or "")
        key = str(report.get("key") or "")
        if not origin or store not in ("localStorage", "sessionStorage"):
            return
        frame_url = self.book.mask_url(str(report.get("url") or ""))
        top = report.get("top") if isinstance(report.get("top"), bool) else None
        writer: dict[str, Any] = {"frame": frame_of(frame_url, top=top)}
        caller = _caller(str(report.get("stack") or ""))
        if caller is not None:
            function, url, line, column = caller
            writer.update(url=self.book.mask_url(url), line=line, column=column, function=function)
        self._writers[(origin, f"{store}:{key}")] = writer

    def snapshot(self) -> None:
        """Read storage and cookies of every frame's origin; record what changed since last."""
        with untraced():  # the harness's reads: no trace actions, no DOM snapshots
            self._snapshot_all()

    def _snapshot_all(self) -> None:
        for context in self.contexts:
            try:
                pages = list(context.pages)
            except Error:
                continue
            for page in pages:
                if page.is_closed():
                    continue
                for frame in page.frames:
                    # An about:blank, srcdoc or blob: frame's storage and cookies are those of
                    # the document that made it, read in that frame (a data: frame has none);
                    # a frame with no address yet (its first navigation under way) has no
                    # document to read.
                    # Each read is a round trip to its renderer: 4 of the 24 in a demo purchase.
                    if frame.url.startswith(("http://", "https://")):
                        self._snapshot_frame(frame)

    def _snapshot_frame(self, frame: Frame) -> None:
        # Through a locator, which takes a timeout (see `paywitness.frame_reads`): the wait for
        # a document and the read in one call.
        try:
            state: Any = frame.locator(":root").evaluate(_SNAPSHOT_ROOT, timeout=READ_WAIT_MS)
        except Error as e:  # a frame navigating away or still loading: its next snapshot tells
            log.debug("paywitness: no storage snapshot of %s: %s", frame.url, e.message)
            return
        if not isinstance(state, dict):
            return
        origin = str(state.get("origin") or "")
        if not origin.startswith(("http://", "https://")):
            return
        for store in ("localStorage", "sessionStorage"):
            entries = state.get(store) or {}
            if entries:
                items = [(f"{store}:{k}", str(v)) for k, v in sorted(entries.items())]
                self._write_once(store, origin, items)
        cookie = str(state.get("cookie") or "")
        if cookie:
            self._write_once("document.cookie", origin, [("document.cookie", cookie)])

    def _write_once(self, channel: str, origin: str, items: list[tuple[str, str]]) -> None:
        digest = hashlib.sha256(json.dumps(items).encode("utf-8", "surrogatepass")).hexdigest()
        key = (origin, channel, digest)
        if key in self._seen:
            return
        self._seen.add(key)
        writers = {k: w for k, _ in items if (w := self._writers.get((origin, k))) is not None}
        extra: dict[str, Any] = {"entries": len(items)}
        if writers:
            extra["writers"] = writers
        self._write(channel, origin + "/", items, extra)

    def _write(
        self, channel: str, url: str, items: list[tuple[str, str]], extra: dict[str, Any]
    ) -> None:
        hits: list[dict[str, Any]] = []
        size = 0
        for location, data in items:
            size += len(data)
            hits += [h.to_dict() for h in self.scan(data, location)]
        host = (urlsplit(url).hostname or "").lower()
        masked = self.book.mask_url(url)
        self.book.note(
            "client",
            url,
            method=channel,
            scheme=urlsplit(url).scheme,
            path=masked.split(host, 1)[-1] if host else "",
            request_size=size,
            canary_hits=hits,
            extra={"channel": channel, **extra},
        )
        self.records += 1
