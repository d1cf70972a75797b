"""Shared fixtures of the harness's own tests (record and flow builders live in builders.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_runs import DemoRuns
from guide_runs import GuideRuns
from playwright.sync_api import Browser, Playwright

from paywitness.browser import find_chromium
from paywitness.profile import Profile, demo_profile_path, load_profile


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """The suite's own in-process scenarios (tests/e2e/test_seamless_violations.py) make this
    session a paywitness run; its bundle, which judges only what those tests happened to do, goes
    to a folder of its own, never into the user's reports/ nor over reports/latest."""
    if config.getoption("--paywitness-output") is None and not hasattr(config, "workerinput"):
        # A folder around the bundle: a run keeps its history file beside its output.
        config.option.paywitness_output = str(
            Path(tempfile.mkdtemp(prefix="paywitness-tests-")) / "run"
        )


@pytest.fixture(scope="session")
def demo_profile() -> Profile:
    """The built-in demo profile, loaded once."""
    return load_profile(demo_profile_path())


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    """The session's `paywitness demo` runs, each started once and shared by every test."""
    return DemoRuns(_shared(tmp_path_factory) / "demo-runs")


@pytest.fixture(scope="session")
def guide_runs(tmp_path_factory: pytest.TempPathFactory, demo_runs: DemoRuns) -> GuideRuns:
    """docs/own-shop.md's commands, run once in one folder and shared by every test; those that
    compare timings with a baseline hold the demo runs alone meanwhile."""
    return GuideRuns(_shared(tmp_path_factory) / "guide-runs", alone=demo_runs.alone)


def _shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder that every xdist worker sees."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the session's one: share the parent.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pw_session(playwright: Playwright) -> Playwright:
    """The worker's one Playwright (pytest-playwright's session fixture), for tests that drive
    a browser of their own. A second `sync_playwright()` cannot start in a thread where one is
    open, and the in-process scenarios (`page`) keep pytest-playwright's open until the end."""
    return playwright


@pytest.fixture(scope="module")
def plain_chromium(pw_session: Playwright) -> Iterator[Browser]:
    """A Chromium of this worker's Playwright without proxy, for pages served in the browser
    itself (`context.route`)."""
    path = find_chromium(None, headless=True)
    if path is None:
        pytest.skip("no Chromium here")
    b = pw_session.chromium.launch(executable_path=str(path))
    yield b
    b.close()


@pytest.fixture
def write_profile(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a profile file and return its path."""

    def _write(text: str, name: str = "profile.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
