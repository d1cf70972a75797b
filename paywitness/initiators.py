"""The initiator watch: for every request Chromium sends, the frame and script that sent it.

Each page of a watched context gets a DevTools (CDP) session (`context.new_cdp_session(page)`).
`Network.requestWillBeSent` and `Network.webSocketCreated` report, per request, the frame it was
sent for and its initiator: the script stack (URL, line, column, function), or the HTML parser,
a redirect or a CORS preflight. Frames from another site run in their own process (out-of-process
iframes: the demo's checkout and card frames) and are separate DevTools targets, so the page's
session also auto-attaches to its child targets and enables the network domain in each before it
runs (see `_Target`).

Each request becomes one `initiator` ledger record through the record book (stamped, classified,
every URL masked like the proxy's); `paywitness.attribution` joins it to the proxy's record of
the same request. A browser without the DevTools protocol (Firefox, WebKit, some remote browsers)
leaves one `no-cdp` record instead, and findings say the sender is unknown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from playwright.sync_api import Error

from paywitness.attribution import NO_CDP_PROBE
from paywitness.classify import MARKER_HOST

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page

    from paywitness.records import RecordBook

__all__ = ["InitiatorWatch", "initiator_facts"]

log = logging.getLogger(__name__)

_Mask = Callable[[str], str]
# How many Playwright round trips `attach` lets a page's own `page` handler take to start.
_ATTACH_ROUNDS = 100
# How long the watch lets a window the shop opened load before attaching to it anyway.
_POPUP_LOAD_MS = 10_000


def _origin(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}" if u.scheme in ("http", "https") and u.netloc else ""


def _top_call_frame(stack: Any) -> dict[str, Any] | None:
    """The innermost call frame of a DevTools stack trace, through its async parents."""
    while isinstance(stack, dict):
        for frame in stack.get("callFrames") or []:
            if isinstance(frame, dict) and frame.get("url"):
                return frame
        stack = stack.get("parent")
    return None


def initiator_facts(
    event: Mapping[str, Any], *, top_frame: bool | None, mask: _Mask
) -> dict[str, Any]:
    """The facts of one `requestWillBeSent` / `webSocketCreated` event, every URL masked.

    `top_frame`: whether the event's frame is the page's top frame (None: not known). DevTools
    counts lines and columns from 0; the facts count from 1, as editors do.
    """
    initiator = event.get("initiator") or {}
    kind = str(initiator.get("type") or "other")
    facts: dict[str, Any] = {"type": kind}
    document = str(event.get("documentURL") or "")
    if document or top_frame is not None:
        facts["frame"] = {
            "url": mask(document) if document else "",
            "origin": _origin(mask(document)) if document else "",
            "top": top_frame,
        }
    call = _top_call_frame(initiator.get("stack"))
    if call is not None:
        facts["script"] = {
            "url": mask(str(call["url"])),
            "line": int(call.get("lineNumber", -1)) + 1,
            "column": int(call.get("columnNumber", -1)) + 1,
            "function": str(call.get("functionName") or "") or "(anonymous)",
        }
    elif initiator.get("url") and kind == "parser":
        line = initiator.get("lineNumber")
        facts["script"] = {
            "url": mask(str(initiator["url"])),
            "line": int(line) + 1 if isinstance(line, int | float) else 0,
            "column": 0,
            "function": "",
        }
    if kind == "preflight" and initiator.get("url"):
        facts["cause_url"] = mask(str(initiator["url"]))
    redirect = event.get("redirectResponse")
    if isinstance(redirect, dict) and redirect.get("url"):
        facts["type"] = "redirect"
        facts["cause_url"] = mask(str(redirect["url"]))
    if event.get("type"):
        facts["resource_type"] = str(event["type"])
    return facts


class _Target:
    """The DevTools targets of one page: the page itself and its out-of-process frames.

    Out-of-process frames are auto-attached to the page's own session without flattening:
    Playwright's client sessions do not route the messages of flattened child sessions, so a
    child is spoken to through `Target.sendMessageToTarget` (wrapped once per level: a frame
    inside a frame is its parent's child) and heard through `Target.receivedMessageFromTarget`.
    Each child waits for the debugger when it starts: the network domain is enabled before its
    first request, then it is let go.
    """

    _AUTO_ATTACH: ClassVar[dict[str, Any]] = {
        "autoAttach": True,
        "waitForDebuggerOnStart": True,
        "flatten": False,
    }

    def __init__(self, watch: InitiatorWatch, session: CDPSession) -> None:
        self.watch = watch
        self.session = session
        self.main_frame: str | None = None  # known once the frame tree is read
        self._early: list[Mapping[str, Any]] = []  # the page's requests before that
        self._next_id = 0
        # Each out-of-process frame's path of session ids, and the URL its target shows now (a
        # WebSocket's event names no frame: one opened in such a frame is placed by its target).
        self._paths: dict[str, tuple[str, ...]] = {}
        self._urls: dict[tuple[str, ...], str] = {}
        # The documents of the frames that share the page's process: URL -> whether it is the
        # top frame's (None: documents of both kinds had that URL). A WebSocket opened by an
        # inline script of such a frame is placed by it (its stack names the document).
        self._documents: dict[str, bool | None] = {}
        session.on("Network.requestWillBeSent", self._request)
        session.on("Target.targetInfoChanged", self._info_changed)
        session.on("Network.webSocketCreated", self._websocket)
        session.on("Target.attachedToTarget", lambda e: self._attached((), e))
        session.on("Target.receivedMessageFromTarget", lambda e: self._child_message((), e))

    def start(self) -> None:
        """Network first (the page is already running), then its frames, then its main frame."""
        self.session.send("Network.enable")
        self.session.send("Target.setAutoAttach", self._AUTO_ATTACH)
        tree: Any = self.session.send("Page.getFrameTree")
        self.main_frame = str(((tree or {}).get("frameTree") or {}).get("frame", {}).get("id", ""))
        early, self._early = self._early, []
        for event in early:
            self._request(event)

    def _request(self, event: Mapping[str, Any]) -> None:
        if self.main_frame is None:
            self._early.append(event)
            return
        frame = event.get("frameId")
        top = None if not frame or not self.main_frame else frame == self.main_frame
        if event.get("type") == "Document" and top is not None:
            url = str((event.get("request") or {}).get("url") or "").split("#", 1)[0]
            known = self._documents.get(url, top)
            self._documents[url] = top if known == top else None
        self.watch.record(event, top)

    def _websocket(self, event: Mapping[str, Any]) -> None:
        """A WebSocket of the page's own process: the event names no frame; an inline script's
        stack names its frame's document, which places it when one frame had that document."""
        call = _top_call_frame((event.get("initiator") or {}).get("stack"))
        url = str(call["url"]).split("#", 1)[0] if call is not None else ""
        top = self._documents.get(url) if url else None
        self.watch.record_websocket(event, top, frame_url=url if top is False else "")

    def _send(self, path: tuple[str, ...], method: str, params: dict[str, Any]) -> None:
        """Send a command to the target at `path` (session ids from the page down)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        for session_id in reversed(path[1:]):
            self._next_id += 1
            message = {
                "id": self._next_id,
                "method": "Target.sendMessageToTarget",
                "params": {"sessionId": session_id, "message": json.dumps(message)},
            }
        self.session.send(
            "Target.sendMessageToTarget", {"sessionId": path[0], "message": json.dumps(message)}
        )

    def _attached(self, parent: tuple[str, ...], event: Mapping[str, Any]) -> None:
        path = (*parent, str(event.get("sessionId") or ""))
        info = event.get("targetInfo") or {}
        self._paths[str(info.get("targetId") or "")] = path
        self._urls[path] = str(info.get("url") or "")
        try:
            if info.get("type") == "iframe":
                self._send(path, "Network.enable", {})
                self._send(path, "Target.setAutoAttach", self._AUTO_ATTACH)
        except Error as e:  # the frame went away while it was being attached
            log.debug("paywitness: initiator watch lost a child target: %s", e.message)
        if event.get("waitingForDebugger"):
            # Let it go whatever happened above: a frame left waiting never loads.
            try:
                self._send(path, "Runtime.runIfWaitingForDebugger", {})
            except Error as e:
                log.debug("paywitness: initiator watch could not resume a frame: %s", e.message)

    def _info_changed(self, event: Mapping[str, Any]) -> None:
        info = event.get("targetInfo") or {}
        path = self._paths.get(str(info.get("targetId") or ""))
        if path is not None:
            self._urls[path] = str(info.get("url") or "")

    def _child_message(self, parent: tuple[str, ...], event: Mapping[str, Any]) -> None:
        path = (*parent, str(event.get("sessionId") or ""))
        try:
            message = json.loads(str(event.get("message") or "{}"))
        except json.JSONDecodeError:
            return
        method = message.get("method")
        params = message.get("params") or {}
        if method == "Network.requestWillBeSent":
            # Every frame of a child target is an embedded one: the top frame is the page's.
            self.watch.record(params, False if params.get("frameId") else None)
        elif method == "Network.webSocketCreated":
            self.watch.record_websocket(params, False, frame_url=self._urls.get(path, ""))
        elif method == "Target.targetInfoChanged":
            self._info_changed(params)
        elif method == "Target.attachedToTarget":
            self._attached(path, params)
        elif method == "Target.receivedMessageFromTarget":
            self._child_message(path, params)


class InitiatorWatch:
    """Records, for each request of a browser context, who sent it (Chromium's DevTools)."""

    def __init__(self, book: RecordBook) -> None:
        self.book = book
        self.records = 0
        self._pages: dict[Page, bool] = {}  # page -> its session has started
        self._without_cdp: str | None = None

    def watch(self, context: BrowserContext) -> None:
        """Attach to every page of this context, now and when it opens."""
        context.on("page", self.attach)
        for page in context.pages:
            self.attach(page)

    def attach(self, page: Page) -> None:
        """Watch this page (again: nothing). A driver calls it before the page's first navigation.

        The `page` event's handler runs beside the driver (Playwright's sync API gives each
        handler its own greenlet), so it may still be attaching when the driver navigates; then
        this waits for it, each Playwright call letting the handler go on.
        """
        if self._without_cdp is not None:
            return
        if page not in self._pages:
            self._pages[page] = False
            if page.opener() is not None:
                self._let_load(page)
            self._start(page)
            return
        for _ in range(_ATTACH_ROUNDS):
            if self._pages.get(page) or self._without_cdp is not None or page.is_closed():
                return
            try:
                page.evaluate("0")
            except Error:
                return

    @staticmethod
    def _let_load(page: Page) -> None:
        """A window the shop opened is already loading when its `page` event comes: attaching
        DevTools to it while one of its cross-site frames was committing aborted that frame's
        navigation (the popup checkout's card frame stayed blank in 3 of 85 runs under load, 0 of
        100 without the attach). So the watch lets it load first; what the window requested
        before that goes unattributed (the attach came too late for it anyway)."""
        try:
            page.wait_for_load_state("load", timeout=_POPUP_LOAD_MS)
        except Error:
            pass  # still loading (or closed): attach now all the same

    def _start(self, page: Page) -> None:
        try:
            session = page.context.new_cdp_session(page)
        except Error as e:
            if page.is_closed():
                return  # a page that closed at once (a popup blocked, a test's own tab)
            # Not Chromium, or a remote browser that exposes no DevTools: said once, never fatal.
            self._without_cdp = e.message.splitlines()[0] if e.message else "unavailable"
            self.book.note(
                "initiator",
                method="NO-CDP",
                role="paywitness",
                rule="initiator-watch",
                error=self._without_cdp,
                extra={"probe": NO_CDP_PROBE},
            )
            return
        try:
            _Target(self, session).start()
        except Error as e:  # the page closed while it was being attached: nothing more to see
            log.debug("paywitness: initiator watch of %s stopped: %s", page, e.message)
        self._pages[page] = True

    def record(self, event: Mapping[str, Any], top_frame: bool | None) -> None:
        """One `Network.requestWillBeSent` event as an `initiator` record."""
        request = event.get("request") or {}
        self._note(str(request.get("url") or ""), str(request.get("method") or "GET"), event,
                   top_frame)  # fmt: skip

    def record_websocket(
        self, event: Mapping[str, Any], top_frame: bool | None, *, frame_url: str = ""
    ) -> None:
        """One `Network.webSocketCreated` event: its handshake is a GET of the same URL.
        `frame_url`: the out-of-process frame it was opened in, if known (the event has none)."""
        if frame_url and not event.get("documentURL"):
            event = {**event, "documentURL": frame_url}
        self._note(str(event.get("url") or ""), "GET", event, top_frame)

    def _note(
        self, url: str, method: str, event: Mapping[str, Any], top_frame: bool | None
    ) -> None:
        u = urlsplit(url)
        if u.scheme not in ("http", "https", "ws", "wss") or not u.hostname:
            return
        if u.hostname == MARKER_HOST:
            return
        facts = initiator_facts(event, top_frame=top_frame, mask=self.book.mask_url)
        wall = event.get("wallTime")
        stamp: dict[str, Any] = {}
        if isinstance(wall, int | float) and wall > 0:
            stamp = {"ts_start": float(wall), "ts_end": float(wall)}
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        self.book.note(
            "initiator",
            url.split("#", 1)[0],
            method=method,
            scheme=u.scheme,
            port=u.port or (443 if u.scheme in ("https", "wss") else 80),
            path=path,
            extra={"initiator": facts},
            **stamp,
        )
        self.records += 1
