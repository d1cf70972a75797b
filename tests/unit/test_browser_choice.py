"""Which Chromium a launch gets: Playwright's own where installed, else for a headless launch
the system's headless shell (what Playwright's own headless launch uses), else the system's
full browser, which headed windows always get."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paywitness import browser


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with a system Chromium and a headless shell and no Playwright browser."""
    full, shell = tmp_path / "chromium", tmp_path / "chromium-headless-shell"
    for exe in (full, shell):
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setattr(browser, "playwright_chromium", lambda: None)
    monkeypatch.setattr(browser, "_HEADLESS_SHELL_FIXED", (str(shell),))
    monkeypatch.setattr(browser, "SYSTEM_CANDIDATES", ())
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "_system_chromium", lambda: full)
    return tmp_path


def test_a_headless_launch_gets_the_headless_shell(machine: Path) -> None:
    assert browser.find_chromium(headless=True) == machine / "chromium-headless-shell"


def test_a_headed_launch_gets_the_full_browser(machine: Path) -> None:
    assert browser.find_chromium() == machine / "chromium"
    assert browser.find_chromium(headless=False) == machine / "chromium"


def test_without_a_headless_shell_a_headless_launch_gets_the_full_browser(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "_HEADLESS_SHELL_FIXED", (str(machine / "absent"),))
    assert browser.find_chromium(headless=True) == machine / "chromium"


def test_playwrights_own_browser_wins_and_an_explicit_path_wins_over_all(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "playwright_chromium", lambda: machine / "own")
    assert browser.find_chromium(headless=True) is None  # Playwright launches its own
    explicit = str(machine / "chromium")
    assert browser.find_chromium(explicit, headless=True) == machine / "chromium"


@pytest.mark.parametrize(
    ("executable", "headless", "paints"),
    [
        ("/usr/lib/chromium/chromium-headless-shell", True, True),  # Debian's shell
        ("/ms-playwright/chrome-linux/headless_shell", True, True),
        ("/ms-playwright/chrome-linux/chrome-headless-shell", True, True),
        ("/usr/bin/chromium", True, False),  # the full browser's headless mode needs a screencast
        ("/usr/bin/chromium", False, True),  # a window paints
        ("/usr/lib/chromium/chromium-headless-shell", False, True),
    ],
)
def test_only_a_browser_known_to_paint_unwatched_is_traced_without_the_screencast(
    executable: str, headless: bool, paints: bool
) -> None:
    assert browser.paints_unwatched(executable, headless) is paints


def test_playwrights_own_headless_launch_paints_unwatched_from_1_49(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No binary given: Playwright picks its own, its headless shell from 1.49 on.
    monkeypatch.setattr(browser, "_playwright_version", lambda: (1, 48))
    assert not browser.paints_unwatched(None, True)
    monkeypatch.setattr(browser, "_playwright_version", lambda: (1, 49))
    assert browser.paints_unwatched(None, True)


def test_the_launch_args_decide_the_screencast_as_the_binary_and_mode_do() -> None:
    shell, full = "/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium"
    assert not browser.screencast_needed({"executable_path": shell})  # headless by default
    assert browser.screencast_needed({"executable_path": full})
    assert browser.screencast_needed({"executable_path": full, "headless": True})
    assert not browser.screencast_needed({"executable_path": full, "headless": False})


class _FakeDriver:
    """Stands in for `sync_playwright()`: counts starts, reports `executable`."""

    def __init__(self, executable: Path) -> None:
        self.starts = 0
        self.chromium = type("Chromium", (), {"executable_path": str(executable)})()

    def __call__(self) -> _FakeDriver:
        self.starts += 1
        return self

    def __enter__(self) -> _FakeDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def fresh_lookup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    browser.playwright_chromium.cache_clear()
    yield
    browser.playwright_chromium.cache_clear()


def test_no_chromium_in_playwrights_folder_is_known_without_starting_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_lookup: None
) -> None:
    import playwright.sync_api

    own = tmp_path / "chromium-1" / "chrome-linux64" / "chrome"
    driver = _FakeDriver(own)
    monkeypatch.setattr(playwright.sync_api, "sync_playwright", driver)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    (tmp_path / "ffmpeg-1011").mkdir()  # another browser's folder is no Chromium
    assert browser.playwright_chromium() is None
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "never-made"))
    browser.playwright_chromium.cache_clear()
    assert browser.playwright_chromium() is None
    assert driver.starts == 0
    # With a Chromium there, the driver says which one this Playwright launches.
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    own.parent.mkdir(parents=True)
    own.write_text("")
    browser.playwright_chromium.cache_clear()
    assert browser.playwright_chromium() == own
    assert driver.starts == 1


_ASK_DRIVER = """
from playwright.sync_api import sync_playwright
with sync_playwright() as pw:
    print(pw.chromium.executable_path)
"""


@pytest.mark.parametrize("setting", ["absolute", "relative", "cache-folder"])
def test_playwrights_browsers_folder_is_where_its_driver_looks(
    setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_lookup: None
) -> None:
    """Pinned against the installed Playwright: the driver's own Chromium path lies in the
    folder paywitness looks in before asking it (asked in a process of its own: a test
    session may already run Playwright's sync API)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INIT_CWD", raising=False)
    if setting == "absolute":
        monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "abs"))
    elif setting == "relative":
        monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", "rel")
    elif sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    else:
        pytest.skip("the cache folder is set by XDG_CACHE_HOME on Linux only")
    folder = browser.playwright_browsers_dir()
    asked = subprocess.run(
        [sys.executable, "-c", _ASK_DRIVER],
        capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
    )  # fmt: skip
    reported = Path(asked.stdout.strip())
    assert folder is not None
    assert folder.is_relative_to(tmp_path)
    assert reported.relative_to(folder).parts[0].startswith("chromium")
