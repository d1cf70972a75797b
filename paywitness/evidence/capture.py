"""Per-test browser evidence: a screenshot at the end of every step and the Playwright trace."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Error, Page

from paywitness.screen_masks import screenshot_masks

__all__ = [
    "SCREENSHOTS_DIR",
    "TRACES_DIR",
    "StepCapture",
    "start_trace",
    "test_slug",
]

SCREENSHOTS_DIR = "screenshots"
TRACES_DIR = "traces"
_SCREENSHOT_TIMEOUT_MS = 5_000
log = logging.getLogger(__name__)

#: Told about every file written: (kind "screenshot" | "trace", path, step name or None).
CaptureListener = Callable[[str, Path, str | None], None]


def test_slug(nodeid: str) -> str:
    """A file-name-safe form of a pytest node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:150] or "test"


def start_trace(
    context: BrowserContext, title: str | None = None, *, screencast: bool = True
) -> None:
    """Trace a context as every run does: DOM snapshots of each action, and the screencast where
    the browser needs one to paint after each input as a screen would (see
    `paywitness.browser.paints_unwatched`). Its frames are pictures of what the buyer typed, so
    the masked trace drops them (`mask_trace`): the screencast serves the timings only."""
    context.tracing.start(title=title, screenshots=screencast, snapshots=True)


class StepCapture:
    """Tracks one test's browser contexts; screenshots each step, saves each context's trace."""

    __test__ = False

    def __init__(self, output: Path, test_id: str, *, trace: bool = True) -> None:
        self.output = output
        self.slug = test_slug(test_id)
        self.trace = trace
        self.contexts: list[BrowserContext] = []
        self.listeners: list[CaptureListener] = []
        self.files: list[Path] = []
        # Wraps each step and takes its screenshot itself (Allure: screenshot inside the step).
        self.outer_step: Callable[[str, int], AbstractContextManager[None]] | None = None
        # Masks a saved trace in place before anyone is told about it (canaries typed).
        self.mask_trace: Callable[[Path], object] | None = None
        # The values planted so far, covered wherever a screenshot shows them.
        self.planted: Callable[[], list[str]] = list

    def add_context(self, context: BrowserContext, *, screencast: bool = True) -> None:
        """Keep this context's evidence; `screencast`: whether its browser needs one to paint
        (`paywitness.browser.paints_unwatched`)."""
        if self.trace:
            start_trace(context, self.slug, screencast=screencast)
        self.contexts.append(context)

    def page(self) -> Page | None:
        """The page the buyer looks at: the first open page of the first open context."""
        for context in self.contexts:
            for page in context.pages:
                if not page.is_closed():
                    return page
        return None

    def _notify(self, kind: str, path: Path, step: str | None) -> None:
        self.files.append(path)
        for listener in self.listeners:
            listener(kind, path, step)

    def screenshot(self, step: str, index: int) -> Path | None:
        page = self.page()
        if page is None:
            return None
        path = self.output / SCREENSHOTS_DIR / self.slug / f"{index:02d}-{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A traced call, unlike the harness's other reads (`untraced`): untraced, the masks
            # drawn into a cross-site frame were missing from a seamless screen in 2 of 40 A/A
            # runs, and here a missing mask would show what the buyer typed.
            masks = screenshot_masks(page, self.planted())
            page.screenshot(path=str(path), timeout=_SCREENSHOT_TIMEOUT_MS, mask=masks)
        except Error as e:  # a crashed or closed page must not hide the step's own outcome
            log.warning("paywitness: no screenshot for step %s: %s", step, e.message)
            return None
        self._notify("screenshot", path, step)
        return path

    @contextmanager
    def step_hook(self, name: str, index: int) -> Iterator[None]:
        """Witness step hook: screenshot when the step ends, also when it fails."""
        if self.outer_step is not None:
            with self.outer_step(name, index):
                yield
            return
        try:
            yield
        finally:
            self.screenshot(name, index)

    def stop(self) -> None:
        """Save each context's trace (before pytest-playwright closes the contexts)."""
        if not self.trace:
            return
        for n, context in enumerate(self.contexts, 1):
            suffix = "" if n == 1 else f"-{n}"
            path = self.output / TRACES_DIR / f"{self.slug}{suffix}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                context.tracing.stop(path=str(path))
            except Error as e:
                log.warning("paywitness: trace of %s not saved: %s", self.slug, e.message)
                continue
            if self.mask_trace is not None:
                self.mask_trace(path)
            self._notify("trace", path, None)
