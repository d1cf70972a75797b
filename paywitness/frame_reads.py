"""Reading a frame the harness does not drive, without waiting as long as its navigation hangs.

Playwright waits for a frame's document before it evaluates anything there, for as long as the
frame's navigation takes. A frame whose server (or proxy) never answers kept a step's end waiting
30 s, until Chromium gave up on the request. A read the harness makes for itself at a step's end
waits `READ_WAIT_MS` at most; a frame with no document by then is read at the next step. A
frame with no address yet is not waited on at all (`has_address`).
"""

from __future__ import annotations

from playwright.sync_api import Error, Frame

__all__ = ["READ_WAIT_MS", "has_address", "has_document"]

#: A loaded frame answers in milliseconds; one whose navigation hangs is skipped after this.
READ_WAIT_MS = 2_000


def has_address(frame: Frame) -> bool:
    """Whether the frame has an address: Playwright reports none until its first navigation
    commits. A frame without one shows nothing and has nothing to read, and anything asked of it
    (a read, a screenshot's mask) waits for its document as long as that navigation hangs (a
    card frame whose server or proxy never answers)."""
    return bool(frame.url)


def has_document(frame: Frame, timeout_ms: float = READ_WAIT_MS) -> bool:
    """Whether the frame has a document to read within `timeout_ms` (for reads that take no
    timeout of their own, such as `Locator.evaluate_all`); no wait for one with no address."""
    if not has_address(frame):
        return False
    try:
        frame.locator(":root").wait_for(state="attached", timeout=timeout_ms)
    except Error:
        return False
    return True
