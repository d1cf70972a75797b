"""Every browser-side observation of one test, wired in one place for every driver.

The pytest plugin's `witness` fixture and witness browser mode (a Chromium that paywitness
launched itself) both attach the same observers to each browser context, through the same
record book of the `RecordingSession`:

- coverage: what the browser itself requested (`ClientWatch`, `client` records);
- initiators: the frame and script that sent each request (`InitiatorWatch`, Chromium's
  DevTools; `initiator` records, joined to the proxy's by `paywitness.attribution`);
- client channels: postMessage, sendBeacon, storage and cookies (`ClientChannels`);
- evidence: a screenshot as each step ends and the context's trace (`StepCapture`).

The continuity probe (navigations, vitals, displays) is made per buyer page by its driver
(`paywitness.seamless`), since it needs the page itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paywitness.client_channels import ClientChannels, Scan
from paywitness.coverage import ClientWatch
from paywitness.initiators import InitiatorWatch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from paywitness.evidence.capture import StepCapture
    from paywitness.records import RecordBook
    from paywitness.witness import StepHook

__all__ = ["BrowserObservers"]


class BrowserObservers:
    """Coverage, client channels and step capture of one test's browser contexts."""

    def __init__(self, book: RecordBook, scan: Scan, capture: StepCapture) -> None:
        self.capture = capture
        self.channels = ClientChannels(book, scan)
        self.coverage = ClientWatch(book)
        self.initiators = InitiatorWatch(book)

    @property
    def step_hooks(self) -> list[StepHook]:
        """Entered around each step: a screenshot, then the browser storage, as it ends."""
        return [self.capture.step_hook, self.channels.step_hook]

    def add_context(self, context: BrowserContext, *, screencast: bool = True) -> None:
        """Trace this context (with the screencast where its browser needs one to paint),
        observe its client channels and record what it requested and who sent it."""
        self.capture.add_context(context, screencast=screencast)
        self.channels.attach(context)
        self.coverage.watch(context)
        self.initiators.watch(context)

    def before_close(self) -> None:
        """Before the contexts close: storage written after the last step counts, then traces."""
        self.channels.snapshot()
        self.capture.stop()
