"""What a screenshot of the buyer's screen must cover before it is written anywhere.

A picture cannot be masked as text is, so it is masked as it is taken (Playwright's `mask`):
every control a buyer types into, in every frame whatever the shop's shape (its value is what
the buyer typed: card number, CVC, name, address), and any element whose text shows a planted
value (a preview page repeating the address).
"""

from __future__ import annotations

from collections.abc import Iterable

from playwright.sync_api import Locator, Page

from paywitness.frame_reads import has_address

__all__ = ["screenshot_masks"]

# The controls a buyer types into (buttons, boxes and pickers show nothing typed).
_TYPED = (
    "input:not([type=button]):not([type=submit]):not([type=reset]):not([type=checkbox])"
    ":not([type=radio]):not([type=image]):not([type=hidden]):not([type=range])"
    ":not([type=color]):not([type=file]), textarea, [contenteditable]:not([contenteditable=false])"
)
#: Shorter planted values are not looked for on the screen (they would mask unrelated text).
_MIN_SHOWN = 4


def screenshot_masks(page: Page, planted: Iterable[str] = ()) -> list[Locator]:
    """Locators a screenshot of `page` covers: typed-into controls and planted values shown."""
    values = sorted({v.strip() for v in planted if len(v.strip()) >= _MIN_SHOWN})
    masks: list[Locator] = []
    for frame in page.frames:
        # A mask in a frame with no address would hold the whole picture until it timed out
        # (5 s, no picture of the step that went wrong); such a frame shows nothing anyway.
        if frame.is_detached() or not has_address(frame):
            continue
        # One locator a frame (`or_`): Playwright resolves it in one query, not one per value.
        mask = frame.locator(_TYPED)
        for value in values:
            mask = mask.or_(frame.get_by_text(value))
        masks.append(mask)
    return masks
