"""Browser mode: a Chromium through the proxy, with the step overlay, until the person finishes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from paywitness.browser import CHROMIUM_ARGS, browser_version, find_chromium, paints_unwatched
from paywitness.browser_observers import BrowserObservers
from paywitness.errors import ConfigError
from paywitness.evidence.capture import StepCapture
from paywitness.evidence.runmeta import record_browser
from paywitness.evidence.trace_mask import mask_trace
from paywitness.frame_reads import has_document
from paywitness.seamless.probe import ContinuityProbe
from paywitness.witness_mode.overlay import overlay_script
from paywitness.witness_mode.session import PROXY_USER, STEPS, WitnessSession

__all__ = ["Person", "check_display", "run_browser", "write_buyer_prefs"]

#: Acts as the person in tests: called with the first page once it shows the start URL.
Person = Callable[[Page], None]
#: The witnessed run's one test id (its screenshots and trace are named after it).
_TEST_ID = "witness"


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
    """The overlay's bindings: mark steps, finish (trace, judge, and hand the report over in
    the same window). Observes the browser as an automated run does: the same observers
    (coverage, client channels, a screenshot as each step ends, the trace) and the same
    continuity probe (navigations, vitals, displays), through the recording session's book."""

    def __init__(
        self, session: WitnessSession, context: BrowserContext, mode: str, info: dict[str, str]
    ) -> None:
        self.session = session
        self.context = context
        self.mode = mode
        self.info = info
        self.closed = False
        self.code: int | None = None
        self.error: BaseException | None = None
        self.report_open = False
        self._marked: set[str] = set()
        self._links: set[str] = set()
        self._blank: Page | None = None
        self._step: ExitStack | None = None  # the open step's hooks, exited as it ends
        self._observed = False  # the observers have stopped (storage read, trace saved)
        recording = session.recording
        data = recording.data
        assert data is not None, "the witness session begins its test before the browser opens"
        self.capture = StepCapture(session.output, _TEST_ID)
        self.capture.mask_trace = lambda path: mask_trace(path, recording.redactor)
        self.capture.planted = recording.redactor.planted_values
        self.observers = BrowserObservers(recording.book, data.scan, self.capture)
        # The info's executable is the binary launched (a headed window paints by itself).
        paints = paints_unwatched(info.get("executable"), session.options.headless)
        self.observers.add_context(context, screencast=not paints)
        # Dialogs are dismissed and recorded, as Playwright dismissed them unheard before.
        screens = session.output / "seamless" / _TEST_ID
        self.probe = ContinuityProbe(context, recording.book, session.profile, screens_dir=screens)
        context.on("close", lambda _: setattr(self, "closed", True))

    @property
    def shots(self) -> list[Path]:
        return [p for p in self.capture.files if p.suffix == ".png"]

    def state(self) -> dict[str, Any]:
        steps = self.session.steps
        return {
            "step": steps[-1] if steps else None,
            "steps": list(steps),
            "finished": self.session.finished.is_set(),
        }

    def _note_links(self, page: Page | None) -> None:
        """Invoice links on screen (the profile's `flow.invoice_link`, in any frame) are links
        shown to the buyer, recorded once each, as the automated flow records them."""
        hints = self.session.profile.flow
        if page is None or page.is_closed() or hints is None or not hints.invoice_link:
            return
        for frame in page.frames:
            if not has_document(frame):  # its navigation hangs: it shows nothing yet
                continue
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

    def _end_step(self, page: Page | None) -> None:
        """The open step ends (a new mark, or Finish): links shown, its screenshot and browser
        storage (the step hooks), the merchant displays on screen, as `Witness.step` does."""
        self._note_links(page)
        stack, self._step = self._step, None
        if stack is not None:
            stack.close()
            self.probe.step_ended(self.session.steps[-1])

    def _begin_step(self) -> None:
        steps = self.session.steps
        stack = ExitStack()
        for hook in self.observers.step_hooks:
            stack.enter_context(hook(steps[-1], len(steps)))
        self._step = stack

    def mark(self, source: dict[str, Any], step: str, token: str = "") -> dict[str, Any]:
        # The panel sends one id per page load: a double click never marks the step twice.
        key = f"{token}:{step}"
        fresh = not token or key not in self._marked
        self._marked.add(key)
        if step in STEPS and fresh and not self.session.finished.is_set():
            self._end_step(source.get("page"))
            marked = len(self.session.steps)
            self.session.mark(step, source="overlay")
            if len(self.session.steps) > marked:
                self._begin_step()
        return self.state()

    def finish(self, source: dict[str, Any]) -> None:
        if self.session.finished.is_set():
            return
        self._end_step(source.get("page"))
        self.session.finish(source="overlay")
        self.stop_observing()
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
        self.probe.close()  # the pages closing here are not the buyer's doing
        self._blank = self.context.new_page()
        for page in self.context.pages:
            if page is not self._blank:
                page.close()

    def hand_over(self) -> None:
        """Judge once (the verdict prints), then open report.html in this window if it is open."""
        if self.code is not None or self.error is not None:
            return
        self.probe.close()
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

    def stop_observing(self) -> None:
        """The last step ends; storage is read and the (masked) trace saved, while the window
        is still open (once; nothing to read once the person closed it)."""
        if self._observed:
            return
        self._observed = True
        if self.closed:
            self._step = None
            return
        self._end_step(self.capture.page())
        self.observers.before_close()


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
        context.expose_binding("paywitnessState", lambda source: witness.state())
        context.expose_binding("paywitnessMark", witness.mark)
        context.expose_binding("paywitnessFinish", witness.finish)
        context.add_init_script(overlay_script(STEPS))
        page = context.pages[0] if context.pages else context.new_page()
        witness.probe.attach(page)
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
                    witness.stop_observing()
                    witness.quiet()
        session.finish(source="browser-closed")  # no-op after Finish or a timeout
        witness.hand_over()  # no-op after Finish
        if not witness.closed:
            context.close()
    if witness.error is not None:
        raise witness.error
    assert witness.code is not None
    return witness.code
