"""Fixtures of the in-process end-to-end tests: the session demo shop, switched live per test."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import NoteBook
from playwright.sync_api import Browser, BrowserContext, Route

from paywitness.browser import find_chromium
from paywitness.initiators import InitiatorWatch
from paywitness.ledger import LedgerWriter
from paywitness.session import Target
from paywitness.witness import Witness

WatchedContext = tuple[BrowserContext, NoteBook, InitiatorWatch]


@pytest.fixture
def watched_context(plain_chromium: Browser) -> Callable[[Callable[[Route], None]], WatchedContext]:
    """A context whose pages `serve` answers in the browser itself, with an initiator watch that
    notes into a `NoteBook` (the test watches the context and closes it)."""

    def make(serve: Callable[[Route], None]) -> WatchedContext:
        context = plain_chromium.new_context()
        context.set_default_timeout(10_000)
        context.route("**/*", serve)
        book = NoteBook()
        return context, book, InitiatorWatch(book)  # type: ignore[arg-type]

    return make


@pytest.fixture
def own_ledger(witness: Witness, tmp_path: Path) -> Iterator[Path]:
    """This test's records go to its own ledger, so the session's run verdict never sees them."""
    path = tmp_path / "ledger.jsonl"
    ledger = LedgerWriter(path)
    witness.book.route(witness.test_id, ledger)
    witness.ledger_path = path
    try:
        yield path
    finally:
        witness.book.route(witness.test_id, None)
        ledger.close()


@pytest.fixture
def demo_violation(paywitness_target: Target) -> Iterator[object]:
    """Switch the session's demo shop to a violation for one test (and back afterwards)."""
    demo = paywitness_target.demo
    if demo is None:
        pytest.skip("needs the built-in demo shop")

    def switch(name: str) -> None:
        demo.configure(violations=[name])

    try:
        yield switch
    finally:
        demo.configure()


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[str]:
    """A Playwright browser server (Chromium) on a free port; its ws:// endpoint."""
    config: dict[str, object] = {"host": "127.0.0.1", "port": 0, "wsPath": "paywitness"}
    path = find_chromium(headless=True)
    if path is not None:
        config["executablePath"] = str(path)
    cfg = tmp_path / "server.json"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "playwright", "launch-server", "--browser", "chromium",
         "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group: the node server and its browser too
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"ws://\S+", line)
        assert m, f"the browser server did not start: {line!r}"
        yield m.group(0)
    finally:
        # `python -m playwright` runs a node child that would outlive a plain terminate().
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
