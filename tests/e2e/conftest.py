"""Fixtures of the in-process end-to-end tests: the session demo shop, switched live per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paywitness.ledger import LedgerWriter
from paywitness.session import Target
from paywitness.witness import Witness


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
