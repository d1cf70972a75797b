"""The harness's own reads stay out of the buyer's trace, and behave as the same calls outside.

A traced demo purchase listed ~140 actions with ~900 DOM snapshots of every frame, half of
them the harness reading the page (storage at each step's end, each typed value read back,
whether a click landed, the displays, the waits before a picture); the buyer's clicks were lost
among them and the snapshots cost ~1.2 s of CPU a purchase. `untraced()` marks those reads as
Playwright's internal calls. It relies on a private part of the Playwright client: the first test
fails on an installed Playwright that lacks it (the reads would be traced again, correctly but at
that cost).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from paywitness.untraced import UNTRACED_SUPPORTED, untraced

PAGE = """<input id=name><button id=pay onclick="this.textContent='paid'">Pay</button>
<iframe srcdoc="<p id=total>Rp 150.000</p>"></iframe>"""


def _actions(trace: Path) -> tuple[list[str], int]:
    """The trace's actions (method names, in order) and how many frame snapshots it holds."""
    methods: list[str] = []
    snapshots = 0
    with zipfile.ZipFile(trace) as zf:
        for name in zf.namelist():
            if not name.endswith(".trace"):
                continue
            for line in zf.read(name).decode().splitlines():
                event = json.loads(line)
                if event.get("type") == "before":
                    methods.append(event["method"])
                elif event.get("type") == "frame-snapshot":
                    snapshots += 1
    return methods, snapshots


def test_the_installed_playwright_lets_the_harness_read_untraced() -> None:
    assert UNTRACED_SUPPORTED, (
        "this Playwright has no internal API zones: the harness's reads are traced again"
    )


def test_reads_inside_are_not_traced_and_answer_as_outside(
    plain_chromium: Browser, tmp_path: Path
) -> None:
    context = plain_chromium.new_context()
    try:
        context.tracing.start(snapshots=True)
        page = context.new_page()
        page.set_content(PAGE)
        page.fill("#name", "Siti")
        with untraced():
            typed = page.locator("#name").input_value()
            total = page.frames[1].locator("#total").inner_text()
            root = page.locator(":root").evaluate("(el) => el.tagName")
            page.screenshot(path=tmp_path / "step.png")
            with pytest.raises(PlaywrightTimeoutError):
                page.locator("#missing").click(timeout=200)  # errors are raised as outside
        page.click("#pay")
        paid = page.locator("#pay").inner_text()  # outside: traced
        context.tracing.stop(path=tmp_path / "trace.zip")
    finally:
        context.close()
    assert (typed, total, root, paid) == ("Siti", "Rp 150.000", "HTML", "paid")
    assert (tmp_path / "step.png").stat().st_size > 0
    methods, snapshots = _actions(tmp_path / "trace.zip")
    assert methods == ["newPage", "setContent", "fill", "click", "innerText"], methods
    assert snapshots > 0  # the buyer's actions keep their DOM snapshots
