"""Browser mode as a person uses it: a headed window on a virtual screen (Xvfb, what `xvfb-run`
starts), the panel clicked, the values typed as the terminal printed them, the whole screen
looked at for the browser's own prompts (save card, passwords, translate, unsupported flag).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect
from witness_helpers import WAIT, WitnessThread

from paywitness.browser import find_chromium
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.witness_mode.overlay import OVERLAY_ID
from paywitness.witness_mode.session import WitnessOptions

SCREEN = (1280, 900)
_STRAY = 0.01  # share of the page's pixels that may differ (the mouse pointer, a caret)


class VirtualScreen:
    """An Xvfb server whose frame buffer is a file: the whole screen, browser UI included."""

    def __init__(self, tmp: Path) -> None:
        self.fbdir = tmp / "fb"
        self.fbdir.mkdir()
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
             "-fbdir", str(self.fbdir), "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(write)
        with os.fdopen(read) as f:
            self.display = f":{f.readline().strip()}"

    def capture(self, path: Path) -> Image.Image:
        """The screen now (Xvfb writes it in XWD format), saved as PNG."""
        raw = (self.fbdir / "Xvfb_screen0").read_bytes()
        fields = struct.unpack(">25I", raw[:100])
        header, width, height = fields[0], fields[4], fields[5]
        bytes_per_line, ncolors = fields[12], fields[19]
        start = header + ncolors * 12
        data = raw[start : start + bytes_per_line * height]
        image = Image.frombuffer("RGB", (width, height), data, "raw", "BGRX", bytes_per_line, 1)
        image.save(path)
        return image

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=WAIT)


@pytest.fixture
def screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[VirtualScreen]:
    """A virtual screen as DISPLAY for the headed witness browser."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (make setup installs it as root)")
    s = VirtualScreen(tmp_path)
    monkeypatch.setenv("DISPLAY", s.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium(None, prefer_playwright=False)
    if path is None:
        pytest.skip("no Chromium on this machine")
    return str(path)


def printed_values(text: str) -> BuyerValues:
    """The buyer values as the person reads them off the terminal."""
    get = lambda label: re.search(rf"^  {label}:\s+(.+)$", text, re.M).group(1).strip()  # type: ignore[union-attr]  # noqa: E731
    card = re.match(r"(\S+)\s+expiry (\S+)\s+CVC (\S+)", get("Card"))
    assert card
    return BuyerValues(
        name=get("Name"), email=get("Email"), phone=get("Phone"), address=get("Address"),
        card_number=card.group(1), card_expiry=card.group(2), card_cvc=card.group(3),
    )  # fmt: skip


class PanelPerson:
    """Clicks the panel's step buttons (and Finish, then Yes) in the headed window; after each
    step looks at the whole screen, where the browser's own prompts would show."""

    def __init__(self, page: Page, start_url: str, screen: VirtualScreen, shots: Path) -> None:
        self.page = page
        self.start_url = start_url
        self.screen = screen
        self.shots = shots
        self.clicked: list[str] = []
        self.differences: dict[str, float] = {}
        self.report = ""

    def look(self, name: str, attempts: int = 3) -> None:
        """The page area of the screen must show the page, nothing of the browser over it.

        A page still loading images differs from one look to the next; a prompt stays: the
        smallest difference of a few looks is kept."""
        page = self.page
        shares = []
        for _ in range(attempts):
            page.screenshot(path=self.shots / f"{name}-page.png")
            viewport = Image.open(self.shots / f"{name}-page.png").convert("RGB")
            whole = self.screen.capture(self.shots / f"{name}-screen.png")
            box = page.evaluate(
                "[window.screenX + (window.outerWidth - window.innerWidth),"
                " window.screenY + (window.outerHeight - window.innerHeight)]"
            )
            left, top = int(box[0]), int(box[1])
            area = whole.crop((left, top, left + viewport.width, top + viewport.height))
            diff = ImageChops.difference(area, viewport).convert("L")
            changed = sum(diff.point(lambda v: 255 * (v > 40)).histogram()[255:])
            shares.append(changed / (viewport.width * viewport.height))
            if shares[-1] <= _STRAY:
                break
        self.differences[name] = min(shares)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.page.locator(f"#{OVERLAY_ID} [data-paywitness-step={name}]").click()
        # As a person does: go on once the panel says the step is marked (the mark ends the
        # previous step, whose screen, storage and displays are read as it ends).
        label = self.page.locator(f"#{OVERLAY_ID} [data-paywitness=label]")
        expect(label).to_have_text(f"step: {name}")
        self.clicked.append(name)
        yield
        self.look(name)

    def link(self, kind: str, url: str) -> None:
        """A person just sees the link; opening it is what the proxy records."""

    def finish(self) -> str:
        """Finish, Yes; the report opens in the same window: read it, close the window."""
        self.page.locator(f"#{OVERLAY_ID} [data-paywitness=finish]").click()
        with self.page.context.expect_page(timeout=WAIT * 1000) as opened:
            self.page.locator(f"#{OVERLAY_ID} [data-paywitness=confirm-finish]").click()
        report = opened.value  # blank while the run is judged, then the report
        report.wait_for_url("**/report.html", timeout=WAIT * 1000)
        text = report.locator("body").inner_text()
        assert report.locator(f"#{OVERLAY_ID}").count() == 0, "no step panel on the report"
        report.context.close()
        return text


@pytest.mark.parametrize(
    ("violations", "code", "verdict"),
    [((), 0, "pass"), (("payment-on-social",), 1, "fail")],
    ids=["compliant", "payment-on-social"],
)
def test_a_person_buys_in_the_headed_witness_browser(
    tmp_path: Path,
    chromium: str,
    screen: VirtualScreen,
    demo_profile: Profile,
    witness_thread: Callable[..., WitnessThread],
    violations: tuple[str, ...],
    code: int,
    verdict: str,
) -> None:
    shots = tmp_path / "looked-at"
    shots.mkdir()
    people: list[PanelPerson] = []
    started: dict[str, WitnessThread] = {}
    known = threading.Event()

    def person(page: Page) -> None:
        assert known.wait(WAIT)
        text = started["w"].out.getvalue()  # the terminal, as the person reads it
        found = re.search(r"start at (\S+)", text)
        assert found, text
        me = PanelPerson(page, found.group(1), screen, shots)
        people.append(me)
        page.locator(f"#{OVERLAY_ID}").wait_for()
        me.look("start")
        run_purchase(page, me, demo_profile.flow, printed_values(text))
        me.report = me.finish()

    options = WitnessOptions(
        demo=True,
        violations=violations,
        output=tmp_path / "bundle",
        seed=9,
        browser=chromium,
        headless=False,
        max_minutes=3,
    )
    w = started["w"] = witness_thread(options, person)
    known.set()
    w.join()
    (me,) = people
    assert me.clicked == ["browse", "checkout", "pay", "confirm", "shop", "orders"]
    # No prompt of the browser's own covered the page at any step (at most stray pixels).
    covered = {step: share for step, share in me.differences.items() if share > _STRAY}
    assert not covered, f"something covered the page: {covered} (see {shots})"
    assert me.differences.keys() == {"start", *me.clicked}
    out = w.out.getvalue()
    assert f"check the evidence: paywitness verify {tmp_path / 'bundle'}" in out
    assert out.rstrip().splitlines()[-1].startswith("paywitness: verdict ")
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] in me.report, "the report shown is this run's"
    statuses = {n: c["status"] for n, c in data["categories"].items()}
    assert "not_judged" not in statuses.values(), statuses  # all four categories judged
    assert data["verdict"] == verdict
    assert w.code == code, w.out.getvalue()
