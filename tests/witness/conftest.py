"""Fixtures of the witness tests (helpers live in witness_helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page
from witness_helpers import WAIT, WitnessThread

from paywitness.witness_mode.session import WitnessOptions


@pytest.fixture
def witness_thread() -> Iterator[Callable[..., WitnessThread]]:
    """Start `run_witness` on a thread; the session is finished at teardown if a test failed."""
    made: list[WitnessThread] = []

    def make(
        options: WitnessOptions, person: Callable[[Page], None] | None = None
    ) -> WitnessThread:
        w = WitnessThread(options, person)
        made.append(w)
        w.start()
        return w

    yield make
    for w in made:
        if w.session is not None:
            w.session.finish(source="teardown")
        if w._thread is not None:
            w._thread.join(WAIT)
