"""pytest fixtures of the seamless checks: the continuity probe and the baseline run.

Registered through `paywitness.pytest_plugin.fixtures`. The probe attaches itself to every test that
uses both `page` and `witness`; `paywitness_baseline` replays a scenario on the demo shop as it
was before the migration, in a fresh browser context of the same browser (one extra scenario
run, no second session), into its own ledger.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page

from paywitness.ledger import LedgerWriter
from paywitness.records import RecordBook
from paywitness.run import RunContext
from paywitness.seamless.figures import BASELINE_SUFFIX
from paywitness.seamless.probe import ContinuityProbe
from paywitness.seamless.screens import compare_images
from paywitness.witness import Witness

if TYPE_CHECKING:
    from paywitness.session import RecordingSession, Target

__all__ = [
    "BASELINE_SUFFIX",
    "BaselineRun",
    "baseline_ledger_path",
    "paywitness_baseline",
    "paywitness_probe",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def baseline_ledger_path(run: RunContext) -> Path:
    """Where this worker's baseline records go (outside the run's `ledger*.jsonl`)."""
    name = (
        "baseline-ledger.jsonl" if run.worker == "main" else f"baseline-ledger-{run.worker}.jsonl"
    )
    return run.output / name


def _screens_dir(run: RunContext, nodeid: str) -> Path:
    return run.output / "seamless" / _UNSAFE.sub("_", nodeid).strip("_")[-120:]


@pytest.fixture(autouse=True)
def paywitness_probe(
    paywitness_run: RunContext, request: pytest.FixtureRequest
) -> Iterator[ContinuityProbe | None]:
    """The continuity probe of this test's browser context (None when it drives no browser)."""
    names = request.fixturenames
    if "page" not in names or "witness" not in names:
        yield None
        return
    run = paywitness_run
    # Chosen at run time: only a witnessed test that drives a page is probed.
    page: Page = request.getfixturevalue("page")
    witness: Witness = request.getfixturevalue("witness")
    probe = ContinuityProbe(
        page.context,
        witness.book,
        run.profile,
        screens_dir=_screens_dir(run, request.node.nodeid),
    )
    probe.attach(page)
    witness.observer = probe
    try:
        yield probe
    finally:
        witness.observer = None
        probe.close()


@dataclass
class BaselineRun:
    """Replays a scenario on the pre-migration demo shop and compares its screens."""

    run: RunContext
    target: Target
    book: RecordBook
    browser: Browser
    context_args: dict[str, Any]
    test_id: str
    probe: ContinuityProbe | None
    witness: Witness | None = None
    _ledger: LedgerWriter | None = field(default=None, init=False)
    baseline_probe: ContinuityProbe | None = field(default=None, init=False)

    @property
    def test_id_baseline(self) -> str:
        return self.test_id + BASELINE_SUFFIX

    def replay(self, scenario: Callable[[Page, Witness], object]) -> None:
        """Run `scenario(page, witness)` on the baseline shop, then restore the shop."""
        demo = self.target.demo
        assert demo is not None
        if self._ledger is None:
            self._ledger = LedgerWriter(baseline_ledger_path(self.run))
        if self.witness is not None:
            self.witness.baseline_ledger_path = self._ledger.path
        previous = (demo.violations, demo.baseline)
        demo.configure(baseline=True)
        stack = ExitStack()  # unwound last: records go back to the test, the shop is restored
        stack.callback(demo.configure, violations=previous[0], baseline=previous[1])
        stack.enter_context(self.book.replaying(self.test_id_baseline, self._ledger))
        context = self.browser.new_context(**self.context_args)
        probe = ContinuityProbe(
            context,
            self.book,
            self.run.profile,
            screens_dir=self.probe.screens_dir if self.probe else None,
            run="baseline",
        )
        self.baseline_probe = probe
        try:
            page = context.new_page()
            probe.attach(page)
            witness = Witness(
                book=self.book,
                profile=self.run.profile,
                ledger_path=self._ledger.path,
                test_id=self.test_id_baseline,
                seed=self.run.seed,
            )
            witness.observer = probe
            scenario(page, witness)
        finally:
            context.close()
            probe.close()
            stack.close()
        self.compare_screens()

    def compare_screens(self) -> None:
        """Pixel-compare every screen both runs took; the figures go to the target's ledger."""
        if self.probe is None or self.baseline_probe is None:
            return
        threshold = self.run.profile.seamless.pixel_threshold
        for name, actual in self.probe.screens.items():
            expected = self.baseline_probe.screens.get(name)
            if expected is None:
                continue
            diff_path = actual.parent / f"diff-{name}.png"
            diff = compare_images(expected, actual, threshold=threshold, diff_path=diff_path)
            self.probe.write(
                "screen-diff",
                name=name,
                diff_pixels=diff.diff_pixels,
                total_pixels=diff.total_pixels,
                ratio=round(diff.ratio, 5),
                threshold=threshold,
                file=str(diff_path.relative_to(self.run.output)),
            )

    def close(self) -> None:
        self.book.route(self.test_id_baseline, None)
        if self._ledger is not None:
            self._ledger.close()


@pytest.fixture
def paywitness_baseline(
    paywitness_session: RecordingSession,
    browser: Browser,
    browser_context_args: dict[str, Any],
    paywitness_probe: ContinuityProbe | None,
    request: pytest.FixtureRequest,
) -> Iterator[BaselineRun | None]:
    """Replays a scenario on the pre-migration demo shop; None for real targets or --baseline."""
    run = paywitness_session.run
    target = paywitness_session.target
    if not run.demo or run.baseline or target is None or target.demo is None:
        yield None
        return
    baseline = BaselineRun(
        run=run,
        target=target,
        book=paywitness_session.book,
        browser=browser,
        context_args=browser_context_args,
        test_id=request.node.nodeid,
        probe=paywitness_probe,
        # Chosen at run time: a replay's own witness is made only for a witnessed test.
        witness=request.getfixturevalue("witness") if "witness" in request.fixturenames else None,
    )
    try:
        yield baseline
    finally:
        baseline.close()
