"""Which Chromium a launch gets: Playwright's own where installed, else for a headless launch
the system's headless shell (what Playwright's own headless launch uses), else the system's
full browser, which headed windows always get."""

from __future__ import annotations

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
