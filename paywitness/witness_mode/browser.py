"""Browser mode: a Chromium through the proxy, with the step overlay, until the person finishes."""

from __future__ import annotations

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

__all__ = ["Person", "check_display", "run_browser"]

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


def _proxy_settings(session: WitnessSession) -> dict[str, str]:
    host = session.options.listen_host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    proxy = {"server": f"http://{host}:{session.proxy_port}"}
    if session.password is not None:
        proxy |= {"username": PROXY_USER, "password": session.password}
    return proxy


class _BrowserWitness:
    """The overlay's bindings: mark steps (screenshot as each ends), finish (trace, close)."""

    def __init__(self, session: WitnessSession, context: BrowserContext) -> None:
        self.session = session
        self.context = context
        self.closed = False
        self.shots: list[Path] = []
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

    def mark(self, source: dict[str, Any], step: str) -> dict[str, Any]:
        if step in STEPS and not self.session.finished.is_set():
            self._screenshot(source.get("page"))  # how the step that ends here looked
            self.session.mark(step, source="overlay")
        return self.state()

    def finish(self, source: dict[str, Any]) -> None:
        if self.session.finished.is_set():
            return
        self._screenshot(source.get("page"))
        self.session.finish(source="overlay")
        self.stop_trace()
        self.context.close()

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


def run_browser(session: WitnessSession, *, person: Person | None = None) -> dict[str, Any]:
    """Open the browser at the start URL and wait (bounded) until Finish or the window closes."""
    opts = session.options
    check_display(opts.headless)
    executable = find_chromium(opts.browser)
    profile_dir = session.tmp_dir / "chromium-profile"
    with sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(profile_dir),
                executable_path=str(executable) if executable else None,
                headless=opts.headless,
                proxy=_proxy_settings(session),  # type: ignore[arg-type]
                # Trust exactly this run's proxy CA (leaf certs share the CA key), nothing else.
                args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={session.ca_spki}"],
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
        witness = _BrowserWitness(session, context)
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
        if not session.finished.is_set() and not witness.closed:
            try:
                context.wait_for_event("close", timeout=opts.max_minutes * 60_000)
            except PlaywrightTimeout:
                session.print(f"paywitness: no Finish within {opts.max_minutes:g} minutes")
                session.finish(source="timeout")
        if not witness.closed:
            witness.stop_trace()
            context.close()
        session.finish(source="browser-closed")  # no-op after Finish or a timeout
    return {"browser": info, "screenshots": len(witness.shots)}
