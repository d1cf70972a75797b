"""The continuity probe: what the buyer's browser did, written to the ledger as `client` records.

One probe per browser context. It listens to Playwright events (navigations, redirects, popups,
dialogs, 401s, login pages, errors, failed requests), receives Web Vitals and buyer actions from
an init script running in every frame, captures merchant displays at the end of each step and
takes the screenshots the baseline comparison needs. Analysers only ever read the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Frame,
    Page,
    Request,
    Response,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from paywitness.patterns import path_matches
from paywitness.profile import DisplaySpec, Profile
from paywitness.records import RecordBook
from paywitness.redact import redact_url
from paywitness.screen_masks import screenshot_masks
from paywitness.untraced import untraced

__all__ = ["BINDING", "ContinuityProbe", "origin_of", "probe_script"]

BINDING = "__paywitnessProbe"
_TEXT_MAX = 200
_MAX_VALUES = 100
_DISPLAYS_JS = """(specs) => specs.map((s) => ({
  name: s.name,
  values: Array.from(document.querySelectorAll(s.selector)).slice(0, MAX).map((el) => {
    const raw = s.attribute ? el.getAttribute(s.attribute) : el.textContent;
    const holder = s.key_attribute ? el.closest("[" + s.key_attribute + "]") : null;
    return {raw: raw, key: holder ? holder.getAttribute(s.key_attribute) : null};
  }),
})).filter((d) => d.values.length > 0)""".replace("MAX", str(_MAX_VALUES))
# Screens are compared only once the pictures in view have loaded (lazy images load late).
_IMAGES_IN_VIEW_LOADED = """() => Array.from(document.images).every((img) => {
  const r = img.getBoundingClientRect();
  const inView = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  return !inView || (img.complete && img.naturalWidth > 0);
})"""
_SETTLE_TIMEOUT_MS = 5_000
_CARD_DIGITS = re.compile(r"\d[\d -]{10,}\d")


def probe_script() -> str:
    """The init script injected into every frame: Google's web-vitals (attribution build,
    vendored; wrapped so the page gains no global) and the continuity probe."""
    here = resources.files("paywitness.seamless")
    vitals = here.joinpath("vendor", "web-vitals.attribution.iife.js").read_text("utf-8")
    probe = here.joinpath("probe.js").read_text("utf-8")
    wrapped = (
        "(() => {\n" + vitals + "\n;Object.defineProperty(window, '__paywitnessWebVitals', "
        "{value: webVitals, configurable: true});\n})();\n"
    )
    return wrapped + probe


def origin_of(url: str) -> str:
    """`https://host[:port]` of a URL; empty for about:, data: and the like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _short(text: str) -> str:
    return _CARD_DIGITS.sub("[digits]", " ".join(text.split()))[:_TEXT_MAX]


def _depth(frame: Frame) -> int:
    depth, f = 0, frame.parent_frame
    while f is not None:
        depth, f = depth + 1, f.parent_frame
    return depth


@dataclass
class ContinuityProbe:
    """Attach to a context (and the buyer's page); every observation becomes a ledger record."""

    context: BrowserContext
    book: RecordBook
    profile: Profile
    screens_dir: Path | None = None
    run: str = "target"
    pages: list[Page] = field(default_factory=list)
    screens: dict[str, Path] = field(default_factory=dict)
    _closed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.context.expose_binding(BINDING, self._on_binding)
        self.context.add_init_script(script=probe_script())
        self.context.on("page", self._on_new_page)

    # -- records ------------------------------------------------------------------------------
    def write(self, probe: str, *, url: str = "", ts: float | None = None, **extra: Any) -> None:
        """One `client` record in the current step (the record book routes it to its ledger)."""
        if self._closed:
            return
        facts = {"probe": probe, "run": self.run, **extra}
        if ts is None:
            self.book.note("client", url, extra=facts)
        else:
            self.book.note("client", url, ts_start=ts, ts_end=ts, extra=facts)

    # -- pages --------------------------------------------------------------------------------
    def attach(self, page: Page) -> None:
        """Watch a buyer page (the first one, and every popup the shop opens)."""
        if page in self.pages:
            return
        index = len(self.pages)
        self.pages.append(page)
        page.on("framenavigated", lambda f: self._on_navigated(page, index, f))
        page.on("request", lambda r: self._on_request(index, r))
        page.on("response", self._on_response)
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda e: self.write("page-error", url=page.url, text=_short(str(e))))
        page.on("console", lambda m: self._on_console(page, m))
        page.on("requestfailed", self._on_failed)

    def _on_new_page(self, page: Page) -> None:
        # Pages the harness opens itself (the invoice) have no opener: not the shop's doing.
        opener = page.opener()
        if opener is None or opener not in self.pages:
            return
        self.write(
            "popup",
            url=page.url,
            opener=opener.url and redact_url(opener.url),
            page=len(self.pages),
        )
        self.attach(page)

    def _on_navigated(self, page: Page, index: int, frame: Frame) -> None:
        url = frame.url
        if frame == page.main_frame:
            self.write("address", url=url, origin=origin_of(url), page=index)
        if origin_of(url) and any(
            path_matches(p, urlsplit(url).path or "/") for p in self.profile.seamless.login_paths
        ):
            self.write("login-page", url=url, depth=_depth(frame), page=index)

    def _on_request(self, index: int, request: Request) -> None:
        if not request.is_navigation_request():
            return
        try:
            frame = request.frame
        except PlaywrightError:
            return
        main = frame.parent_frame is None
        if main:
            self.write("document", url=request.url, origin=origin_of(request.url), page=index)
        previous = request.redirected_from
        if previous is not None:
            src, dst = origin_of(previous.url), origin_of(request.url)
            self.write(
                "redirect",
                url=request.url,
                source=redact_url(previous.url),
                cross_origin=bool(src and dst and src != dst),
                main=main,
                page=index,
            )

    def _on_response(self, response: Response) -> None:
        if response.status in (401, 407):
            self.write("auth-prompt", url=response.url, status=response.status)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.write(
            "dialog",
            url=dialog.page.url if dialog.page else "",
            type=dialog.type,
            text=_short(dialog.message),
        )
        dialog.dismiss()

    def _on_console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            # Where the message points: for "Failed to load resource", the resource's URL.
            source = str((message.location or {}).get("url") or "")
            self.write("console-error", url=page.url, text=_short(message.text), source=source)

    def _on_failed(self, request: Request) -> None:
        failure = request.failure or ""
        self.write(
            "request-failed", url=request.url, failure=failure, aborted="ERR_ABORTED" in failure
        )

    def _on_binding(self, source: dict[str, Any], payload: Any) -> None:
        if not isinstance(payload, dict) or source.get("page") not in self.pages:
            return
        frame = source.get("frame")
        depth = _depth(frame) if isinstance(frame, Frame) else 0
        kind = str(payload.pop("probe", "vital"))
        at = payload.pop("at", None)
        ts = float(at) / 1000 if isinstance(at, int | float) else None
        url = str(payload.pop("frame_url", ""))
        payload["scope"] = "page" if depth == 0 else "frame"
        payload["depth"] = depth
        payload["page"] = self.pages.index(source["page"])
        if "target" in payload:
            payload["target"] = _short(str(payload["target"]))[:60]
        self.write(kind, url=url, ts=ts, **payload)

    # -- moments, displays, screens -----------------------------------------------------------
    def moment(self, name: str, page: Page | None = None) -> None:
        """A point of the purchase (`buy`, `checkout-ready`, ...); screenshots the listed ones."""
        self.write("moment", name=name)
        if page is not None and self.screens_dir is not None:
            if name in self.profile.seamless.screens:
                self._screenshot(name, page)

    def _screenshot(self, name: str, page: Page) -> None:
        assert self.screens_dir is not None
        self.screens_dir.mkdir(parents=True, exist_ok=True)
        path = self.screens_dir / f"{self.run}-{name}.png"
        with untraced():  # the harness waiting for the screen to settle: no trace actions
            self._settle(name, page)
        # The masks are taken from the frames on the screen now, after the waits, and again if
        # a frame came or went during the picture (a mask bound to a frame that was replaced
        # covers nothing). The picture itself stays a traced call: untraced (without the trace's
        # snapshot of every frame just before it), the masks drawn into the cross-site checkout
        # frame were missing from the picture in 2 of 40 A/A runs (2026-11-29: one side's typed
        # fields bare at checkout-ready, 9.3% differing).
        for _ in range(2):
            frames = list(page.frames)
            # One pixel per CSS pixel: the layout the buyer is given, not how a device's 3x
            # pixels anti-alias a cross-site frame's text (iPhone 14 checkout: 2.57% -> 1.37%).
            page.screenshot(
                path=path,
                mask=self._masks(page),
                animations="disabled",
                caret="hide",
                scale="css",
            )
            if list(page.frames) == frames:
                break
        self.screens[name] = path
        # `dir` relative to the bundle, so a merged or lent copy still finds the picture.
        self.write("screen", name=name, file=path.name, dir=f"seamless/{self.screens_dir.name}")

    def _settle(self, name: str, page: Page) -> None:
        """Wait for the images in view and every frame's load (each said when it times out)."""
        try:
            page.wait_for_function(_IMAGES_IN_VIEW_LOADED, timeout=_SETTLE_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            self.write("probe-error", url=page.url, text=f"{name}: images still loading")
        # A frame still loading (the card form inside the checkout frame) would picture which
        # side's load happened to be quicker, not the screen the buyer is given (Pixel 7: the
        # old shop's card form blank at checkout-ready, 5% of the pixels).
        for frame in page.frames:
            try:
                frame.wait_for_load_state("load", timeout=_SETTLE_TIMEOUT_MS)
            except PlaywrightTimeoutError:
                self.write("probe-error", url=frame.url, text=f"{name}: a frame still loading")
            except PlaywrightError:
                continue  # detached while we waited: it is no longer on the screen

    def _masks(self, page: Page) -> list[Any]:
        """What the buyer typed and any planted value shown, covered on both sides alike, with
        the regions the profile masks."""
        masks: list[Any] = screenshot_masks(page, self.book.planted_values())
        for m in self.profile.seamless.mask:
            scope: Any = page
            for sel in m.frames:
                scope = scope.frame_locator(sel)
            masks.append(scope.locator(m.selector))
        return masks

    def step_ended(self, step: str) -> None:
        """Capture the merchant displays the buyer's first page shows at the end of a step."""
        if self.pages:
            self.capture_displays(self.pages[0], self.profile.displays)

    def capture_displays(self, page: Page, displays: list[DisplaySpec]) -> None:
        if not displays or page.is_closed():
            return
        specs = [
            {
                "name": d.name,
                "selector": d.selector,
                "attribute": d.attribute,
                "key_attribute": d.key_attribute,
            }
            for d in displays
        ]
        try:
            with untraced():
                shown = page.evaluate(_DISPLAYS_JS, specs)
        except PlaywrightError as e:
            self.write("probe-error", url=page.url, text=_short(str(e)))
            return
        for item in shown:
            self.write("display", url=page.url, name=item["name"], values=item["values"])

    def close(self) -> None:
        """Stop writing (late events of a closing context are dropped)."""
        self._closed = True
