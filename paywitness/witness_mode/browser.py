"""Browser mode: a Chromium through the proxy, with the step overlay, until the person finishes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from paywitness.browser import CHROMIUM_ARGS, browser_version, find_chromium
from paywitness.errors import ConfigError
from paywitness.evidence.capture import SCREENSHOTS_DIR, TRACES_DIR
from paywitness.evidence.runmeta import record_browser
from paywitness.witness_mode.overlay import overlay_script
from paywitness.witness_mode.session import PROXY_USER, STEPS, WitnessSession

__all__ = ["Person", "check_display", "run_browser", "write_buyer_prefs"]

#: Acts as the person in tests: called with the first page once it shows the start URL.
Person = Callable[[Page], None]
_SCREENSHOT_TIMEOUT_MS = 5_000


def check_display(headless: bool) -> None:
    """A headed browser needs a display; say how to get one instead of crashing later."""
    if headless or not sys.platform.startswith("linux"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ConfigError(
            "no display for the browser (DISPLAY is not set); run on a desktop, under "
            "`xvfb-run paywitness witness ...`, or use --phone"
        )


# A clean buyer's browser: no offer to save the card or a password, no translation bubble on a
# page in another language (the person would see, and maybe accept, what no buyer is asked).
# Preferences in the fresh profile, not --disable-features: that flag would replace
# Playwright's own list instead of adding to it.
_BUYER_PREFS: dict[str, Any] = {
    "autofill": {"credit_card_enabled": False, "profile_enabled": False},
    "credentials_enable_service": False,
    "profile": {"password_manager_enabled": False},
    "translate": {"enabled": False},
    "browser": {"check_default_browser": False},
}
# Playwright runs Chromium with --no-sandbox (as root it must); --test-type keeps the
# "unsupported command-line flag" bar off the buyer's screen, as chromedriver does.
_BUYER_ARGS = ("--test-type",)


def write_buyer_prefs(profile_dir: Path) -> None:
    """Preferences of a new Chromium profile that keep the browser's own prompts away."""
    path = profile_dir / "Default" / "Preferences"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_BUYER_PREFS), encoding="utf-8")


def _proxy_settings(session: WitnessSession) -> dict[str, str]:
    host = session.options.listen_host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    proxy = {"server": f"http://{host}:{session.proxy_port}"}
    if session.password is not None:
        proxy |= {"username": PROXY_USER, "password": session.password}
    return proxy


class _BrowserWitness:
    """The overlay's bindings: mark steps (screenshot as each ends), finish (trace, judge, and
    hand the report over in the same window)."""

    def __init__(
        self, session: WitnessSession, context: BrowserContext, mode: str, info: dict[str, str]
    ) -> None:
        self.session = session
        self.context = context
        self.mode = mode
        self.info = info
        self.closed = False
        self.shots: list[Path] = []
        self.code: int | None = None
        self.error: BaseException | None = None
        self.report_open = False
        self._marked: set[str] = set()
        self._links: set[str] = set()
        self._blank: Page | None = None
        context.on("close", lambda _: setattr(self, "closed", True))

    def state(self) -> dict[str, Any]:
        steps = self.session.steps
        return {
            "step": steps[-1] if steps else None,
            "steps": list(steps),
            "finished": self.session.finished.is_set(),
        }

    def _screenshot(self, page: Page | None) -> None:
        steps = self.session.steps
        if page is None or not steps or page.is_closed():
            return
        path = (
            self.session.output / SCREENSHOTS_DIR / "witness" / f"{len(steps):02d}-{steps[-1]}.png"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(path), timeout=_SCREENSHOT_TIMEOUT_MS)
        except PlaywrightError as e:  # a screenshot never decides the run
            self.session.print(f"paywitness: no screenshot of step {steps[-1]}: {e.message}")
            return
        self.shots.append(path)

    def _note_links(self, page: Page | None) -> None:
        """Invoice links on screen (the profile's `flow.invoice_link`, in any frame) are links
        shown to the buyer, recorded once each, as the automated flow records them."""
        hints = self.session.profile.flow
        if page is None or page.is_closed() or hints is None or not hints.invoice_link:
            return
        for frame in page.frames:
            try:
                hrefs = frame.locator(hints.invoice_link).evaluate_all(
                    # Shown means on screen with a real address (not a hidden "#" placeholder).
                    "els => els.filter(e => e.checkVisibility() && e.getAttribute('href')"
                    " && !e.getAttribute('href').startsWith('#')).map(e => e.href)"
                )
            except PlaywrightError:  # the frame went away while we looked: nothing shown there
                continue
            for href in hrefs:
                if href not in self._links:
                    self._links.add(href)
                    self.session.recording.book.link("invoice", str(href))

    def mark(self, source: dict[str, Any], step: str, token: str = "") -> dict[str, Any]:
        # The panel sends one id per page load: a double click never marks the step twice.
        key = f"{token}:{step}"
        fresh = not token or key not in self._marked
        self._marked.add(key)
        if step in STEPS and fresh and not self.session.finished.is_set():
            self._note_links(source.get("page"))
            self._screenshot(source.get("page"))  # how the step that ends here looked
            self.session.mark(step, source="overlay")
        return self.state()

    def finish(self, source: dict[str, Any]) -> None:
        if self.session.finished.is_set():
            return
        self._note_links(source.get("page"))
        self._screenshot(source.get("page"))
        self.session.finish(source="overlay")
        self.stop_trace()
        self.quiet()
        self.hand_over()
        if self.session.options.headless:  # nobody can read the report: done
            self.context.close()

    def quiet(self) -> None:
        """Close the shop's pages before judging: a page still talking while the proxy stops
        would leave failed requests in the record that the buyer never made. One blank page
        keeps the window for the report."""
        if self.closed:
            return
        self._blank = self.context.new_page()
        for page in self.context.pages:
            if page is not self._blank:
                page.close()

    def hand_over(self) -> None:
        """Judge once (the verdict prints), then open report.html in this window if it is open."""
        if self.code is not None or self.error is not None:
            return
        extra = {"browser": self.info, "screenshots": len(self.shots)}
        try:
            self.code = self.session.close(mode=self.mode, extra=extra)
        except BaseException as e:  # raised again by run_browser, outside the binding
            self.error = e
            return
        report = self.session.output / "report.html"
        if self.closed or not report.is_file():
            return
        try:
            (self._blank or self.context.new_page()).goto(report.as_uri())
            self.report_open = True
        except PlaywrightError:
            # The report's path is printed with the verdict; failing to show it here changes
            # nothing recorded, and nothing may print after the verdict.
            self.report_open = False

    def stop_trace(self) -> None:
        path = self.session.output / TRACES_DIR / "witness.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.context.tracing.stop(path=str(path))
        except PlaywrightError as e:
            self.session.print(f"paywitness: the browser trace was not saved: {e.message}")
            return
        # The person typed the canaries and the shop set its cookies: mask them in the zip.
        from paywitness.evidence.trace_mask import mask_trace

        mask_trace(path, self.session.recording.redactor)


def run_browser(session: WitnessSession, *, mode: str, person: Person | None = None) -> int:
    """Open the browser at the start URL, wait (bounded) until Finish or the window closes,
    judge, and show the report in the window; the exit code."""
    opts = session.options
    check_display(opts.headless)
    executable = find_chromium(opts.browser)
    profile_dir = session.tmp_dir / "chromium-profile"
    write_buyer_prefs(profile_dir)
    with sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(profile_dir),
                executable_path=str(executable) if executable else None,
                headless=opts.headless,
                proxy=_proxy_settings(session),  # type: ignore[arg-type]
                # Trust exactly this run's proxy CA (leaf certs share the CA key), nothing else.
                args=[
                    *CHROMIUM_ARGS,
                    *_BUYER_ARGS,
                    f"--ignore-certificate-errors-spki-list={session.ca_spki}",
                ],
                no_viewport=not opts.headless,
            )
        except PlaywrightError as e:
            raise ConfigError(
                f"the browser could not start: {e.message.splitlines()[0]} "
                "(pass --browser PATH to a Chromium binary)"
            ) from e
        exe = executable or Path(pw.chromium.executable_path)
        info = {"name": "chromium", "version": browser_version(exe), "executable": str(exe)}
        record_browser(session.output, session.run.worker, info)
        witness = _BrowserWitness(session, context, mode, info)
        context.tracing.start(title="witness", screenshots=True, snapshots=True)
        context.expose_binding("paywitnessState", lambda source: witness.state())
        context.expose_binding("paywitnessMark", witness.mark)
        context.expose_binding("paywitnessFinish", witness.finish)
        context.add_init_script(overlay_script(STEPS))
        page = context.pages[0] if context.pages else context.new_page()
        try:
            page.goto(session.start_url)
        except PlaywrightError as e:  # the person can still type an address
            session.print(f"paywitness: could not open {session.start_url}: {e.message}")
        if person is not None:
            person(page)
        # Until the window closes: after Finish it shows the report (headless closes at once).
        if not witness.closed:
            try:
                context.wait_for_event("close", timeout=opts.max_minutes * 60_000)
            except PlaywrightTimeout:
                if not session.finished.is_set():
                    session.print(f"paywitness: no Finish within {opts.max_minutes:g} minutes")
                    session.finish(source="timeout")
                    witness.stop_trace()
                    witness.quiet()
        session.finish(source="browser-closed")  # no-op after Finish or a timeout
        witness.hand_over()  # no-op after Finish
        if not witness.closed:
            context.close()
    if witness.error is not None:
        raise witness.error
    assert witness.code is not None
    return witness.code
