"""A screenshot never shows what the buyer typed nor a planted value the page displays.

Real Chromium: a shop page with a cross-site card frame (as a gateway's), the card typed into
the frame and the buyer's name shown as text; the step screenshot covers both, and only them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route

from paywitness.evidence.capture import StepCapture

CARD = "4242424242424242"
NAME = "Sari Widodo"
SHOP = f"""<h1 id=title>Checkout</h1><p id=greeting>Thanks, {NAME}!</p>
<p id=other>Delivery in two days</p><iframe id=card src="https://pay.example/fields"
style="width:400px;height:80px;border:0"></iframe>"""
FIELDS = """<input id=number style="width:300px;font-size:20px"><button id=go>Pay</button>"""
MASK = bytes((255, 0, 255))  # Playwright's mask colour


def _serve(route: Route) -> None:
    url = route.request.url
    route.fulfill(body=FIELDS if url.startswith("https://pay.example/") else SHOP,
                  content_type="text/html")  # fmt: skip


@pytest.fixture
def shop(plain_chromium: Browser) -> Iterator[Page]:
    context = plain_chromium.new_context(viewport={"width": 800, "height": 400})
    context.route("https://shop.example/**", _serve)
    context.route("https://pay.example/**", _serve)
    page = context.new_page()
    page.goto("https://shop.example/")
    page.frame_locator("#card").locator("#number").fill(CARD)
    try:
        yield page
    finally:
        context.close()


def _box(page: Page, element: str, frame: str | None = None) -> tuple[int, int, int, int]:
    scope = page.frame_locator(frame).locator(element) if frame else page.locator(element)
    b = scope.bounding_box()
    assert b is not None
    return round(b["x"]), round(b["y"]), round(b["x"] + b["width"]), round(b["y"] + b["height"])


def _share_masked(shot: Path, box: tuple[int, int, int, int]) -> float:
    with Image.open(shot) as img:
        data = img.convert("RGB").crop(box).tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    return sum(p == MASK for p in pixels) / len(pixels)


def test_typed_fields_and_shown_planted_values_are_covered_and_nothing_else(
    shop: Page, tmp_path: Path
) -> None:
    capture = StepCapture(tmp_path, "tests::shot", trace=False)
    capture.planted = lambda: [NAME, CARD, "ab"]  # a value too short to look for is skipped
    capture.add_context(shop.context)
    shot = capture.screenshot("pay", 1)
    assert shot is not None
    assert _share_masked(shot, _box(shop, "#number", "#card")) > 0.95  # typed, cross-site frame
    assert _share_masked(shot, _box(shop, "#greeting")) > 0.95  # the planted name, shown
    assert _share_masked(shot, _box(shop, "#other")) == 0  # the rest of the page stays
    assert _share_masked(shot, _box(shop, "#title")) == 0
    assert _share_masked(shot, _box(shop, "#go", "#card")) == 0  # a button shows nothing typed


def test_without_masks_the_same_screenshot_shows_the_typed_card(shop: Page, tmp_path: Path) -> None:
    """The check above can fail: the unmasked picture has no mask colour where the card is."""
    shop.screenshot(path=str(tmp_path / "raw.png"))
    assert _share_masked(tmp_path / "raw.png", _box(shop, "#number", "#card")) == 0
