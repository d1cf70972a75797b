"""Attribution: which frame and script sent each recorded request (the `initiator` join).

The browser-side initiator watch (`paywitness.initiators`) writes one `initiator` record per
request Chromium reported (DevTools `Network.requestWillBeSent` / `webSocketCreated`): the
request's method and masked URL, the browser's own wall-clock time, the frame it was sent for and
the top of the script stack, or the parser, redirect or preflight that caused it. This module joins
them to the proxy's records of the same requests — same test, same method, same masked URL, in time
order — and says in a few words who sent each one. Pure: a stored bundle is attributed again the
same way when it is re-judged.

A run without initiator records (a phone, a proxy-only witness run, a browser without DevTools)
attributes nothing; findings then say the sender is unknown, and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paywitness.ledger import FlowRecord

__all__ = [
    "INITIATOR_KIND",
    "NO_CDP_PROBE",
    "Attribution",
    "describe_channel_sender",
    "describe_initiator",
    "frame_of",
]

#: The ledger kind of the initiator watch's records.
INITIATOR_KIND = "initiator"
#: `extra.probe` of the one `initiator` record saying a context had no DevTools protocol.
NO_CDP_PROBE = "no-cdp"

# An initiator record precedes the proxy's record of the same request: the browser stamps it
# when it decides to send, the proxy when the request arrives. Within these bounds (seconds) the
# two are the same request; a request the browser answered from its cache never reaches the
# proxy, and is left behind by the window instead of taking a later request's place.
_BEFORE_S = 30.0
_AFTER_S = 2.0


def _join_key(method: str, url: str) -> tuple[str, str]:
    """Method and URL with ws/wss read as http/https (a WebSocket's handshake is a GET)."""
    u = url.split("#", 1)[0]
    if u.startswith("wss://"):
        u = "https://" + u[6:]
    elif u.startswith("ws://"):
        u = "http://" + u[5:]
    return method.upper(), u


def _frame_words(frame: Mapping[str, Any]) -> str:
    if frame.get("top") is True:
        return "in the top frame"
    url = str(frame.get("url") or frame.get("origin") or "")
    if frame.get("top") is False:
        return f"in frame {url}" if url else "in an embedded frame"
    return f"in frame {url}" if url else "in an unknown frame"


def _script_words(script: Mapping[str, Any]) -> str:
    where = str(script.get("url") or "(inline script)")
    if script.get("line"):
        where += f":{script['line']}"
        if script.get("column"):
            where += f":{script['column']}"
    function = str(script.get("function") or "")
    return f"`{where} {function}`" if function else f"`{where}`"


def describe_initiator(initiator: Mapping[str, Any] | None, reason: str = "") -> str:
    """`sent by ... in ...`: the initiator of one request in words (or why it is unknown)."""
    if not initiator:
        return f"sender unknown ({reason})" if reason else "sender unknown"
    kind = str(initiator.get("type") or "other")
    frame = _frame_words(initiator.get("frame") or {})
    script = initiator.get("script") or {}
    if kind == "script" and script:
        return f"sent by {_script_words(script)} {frame}"
    if kind == "parser":
        where = _script_words(script) if script else "the page"
        return f"loaded by the HTML parser of {where} {frame}"
    if kind == "redirect":
        return f"a redirect from {initiator.get('cause_url') or 'an earlier request'} {frame}"
    if kind == "preflight":
        return f"the CORS preflight of {initiator.get('cause_url') or 'a request'} {frame}"
    if script:  # e.g. `other` with a stack (an event handler) or a WebSocket opened by a script
        return f"sent by {_script_words(script)} {frame}"
    return f"started by the browser ({kind}) {frame}"


def _writer_words(writer: Mapping[str, Any]) -> str:
    frame = _frame_words(writer.get("frame") or {})
    if writer.get("url"):
        return f"written by {_script_words(writer)} {frame}"
    return f"written {frame}"


def describe_channel_sender(record: FlowRecord) -> str:
    """Who posted, beaconed or stored a browser-side observation (`client_channels` records)."""
    e = record.extra
    channel = str(e.get("channel") or record.method)
    receiver = _frame_words({"url": record.url, "top": e.get("top")})
    if channel == "postMessage":
        sender = str(e.get("from_origin") or "an unknown origin")
        relation = {"parent": " (the receiving frame's parent)", "child": " (a frame inside it)"}
        return (
            f"posted by a frame on {sender}{relation.get(str(e.get('source')), '')} "
            f"to {receiver.removeprefix('in ')}"
        )
    if channel == "sendBeacon":
        return f"sent with navigator.sendBeacon by a frame on {e.get('sender_origin') or '?'}"
    writers = e.get("writers") or {}
    if writers:
        named = "; ".join(f"{key} {_writer_words(w)}" for key, w in sorted(writers.items()))
        return f"{channel} of {record.url.rstrip('/')}: {named}"
    return f"read from the {channel} of {record.url.rstrip('/')} (the frame that wrote it unknown)"


@dataclass(frozen=True)
class Attribution:
    """Initiator facts per record id (proxy flows, WebSocket messages, browser-side requests)."""

    by_record: Mapping[str, Mapping[str, Any]]
    #: Tests whose browser reported initiators (the rest: the reason they are unknown).
    observed_tests: frozenset[str | None]
    no_cdp: Mapping[str | None, str]

    @classmethod
    def of(cls, records: Sequence[FlowRecord]) -> Attribution:
        """Join every proxy record (and browser-side request) to its initiator record."""
        initiators = [r for r in records if r.kind == INITIATOR_KIND]
        no_cdp = {
            r.test: str(r.error or "no DevTools protocol")
            for r in initiators
            if r.extra.get("probe") == NO_CDP_PROBE
        }
        sent = [r for r in initiators if r.extra.get("probe") != NO_CDP_PROBE]
        if not sent:
            return cls({}, frozenset(), no_cdp)
        by_record: dict[str, Mapping[str, Any]] = {}
        proxied = [r for r in records if r.kind == "http"]
        # The browser's own requests (coverage) are matched on their own: each is one request.
        asked = [r for r in records if r.kind == "client" and r.extra.get("probe") == "request"]
        for targets in (proxied, asked):
            by_record.update(_match(sent, targets))
        by_record.update(_websocket_messages(records, by_record))
        return cls(by_record, frozenset(r.test for r in sent), no_cdp)

    def initiator(self, record: FlowRecord) -> Mapping[str, Any] | None:
        """The initiator facts of one record, if the browser reported them."""
        return self.by_record.get(record.id)

    def evidence(self, record: FlowRecord) -> dict[str, Any]:
        """The sender facts a finding's evidence carries: words, and the initiator if known."""
        return {"sent_by": self.describe(record), "initiator": self.initiator(record)}

    def describe(self, record: FlowRecord) -> str:
        """Who sent this record's request, in words; why it is unknown otherwise."""
        found = self.by_record.get(record.id)
        if found is not None:
            return describe_initiator(found)
        if record.kind == "client" and record.extra.get("channel"):
            return describe_channel_sender(record)
        if record.test in self.no_cdp:
            return describe_initiator(None, f"no DevTools protocol: {self.no_cdp[record.test]}")
        if record.test in self.observed_tests:
            return describe_initiator(None, "the browser reported no matching request")
        return describe_initiator(
            None, "no browser-side initiator records (a phone, a proxy-only or non-Chromium run)"
        )


def _match(
    initiators: Iterable[FlowRecord], targets: Iterable[FlowRecord]
) -> dict[str, Mapping[str, Any]]:
    """Pair each target with the earliest unused initiator of its test, method and URL."""
    pending: dict[tuple[str | None, str, str], list[FlowRecord]] = defaultdict(list)
    for r in sorted(initiators, key=lambda r: r.ts_start):
        pending[(r.test, *_join_key(r.method, r.url))].append(r)
    out: dict[str, Mapping[str, Any]] = {}
    for t in sorted(targets, key=lambda r: r.ts_start):
        queue = pending.get((t.test, *_join_key(t.method, t.url)))
        if not queue:
            continue
        while queue and queue[0].ts_start < t.ts_start - _BEFORE_S:
            queue.pop(0)  # never reached the proxy (a cache hit, a cancelled request)
        if queue and queue[0].ts_start <= t.ts_start + _AFTER_S:
            facts = queue.pop(0).extra.get("initiator")
            if isinstance(facts, dict):
                out[t.id] = facts
    return out


def _websocket_messages(
    records: Sequence[FlowRecord], by_record: Mapping[str, Mapping[str, Any]]
) -> dict[str, Mapping[str, Any]]:
    """A WebSocket message was sent by whoever opened its connection (the latest handshake)."""
    handshakes: dict[tuple[str | None, str], list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.kind == "http" and r.extra.get("websocket") and r.id in by_record:
            handshakes[(r.test, _join_key("GET", r.url)[1])].append(r)
    out: dict[str, Mapping[str, Any]] = {}
    for r in records:
        if r.kind != "websocket":
            continue
        opened = [
            h
            for h in handshakes.get((r.test, _join_key("GET", r.url)[1]), [])
            if h.ts_start <= r.ts_start
        ]
        if opened:
            out[r.id] = by_record[max(opened, key=lambda h: h.ts_start).id]
    return out


def frame_of(url: str, *, top: bool | None) -> dict[str, Any]:
    """The facts of a frame an observation came from: URL (masked by the caller), origin, top."""
    u = urlsplit(url)
    origin = f"{u.scheme}://{u.netloc}" if u.scheme and u.netloc else ""
    return {"url": url, "origin": origin, "top": top}
