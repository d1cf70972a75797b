"""The per-test handle a scenario uses: label steps, record what the buyer saw, judge."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

from paywitness.analysers import judge
from paywitness.canaries import Canary
from paywitness.ledger import FlowRecord, read_ledger
from paywitness.profile import Profile
from paywitness.records import RecordBook
from paywitness.verdict import Verdict

__all__ = ["StepHook", "VerdictFailed", "Witness", "WitnessObserver", "format_findings"]

#: Wraps a step (name, 1-based index): screenshots, Allure steps. Entered in list order.
StepHook = Callable[[str, int], AbstractContextManager[None]]


class WitnessObserver(Protocol):
    """Told when a step ends and at named moments of the purchase (the continuity probe)."""

    def step_ended(self, step: str) -> None: ...

    def moment(self, name: str, page: Any = None) -> None: ...


class VerdictFailed(AssertionError):
    """A scenario that ran to its judgement and was failed by it (findings, or categories left
    unjudged): the scenario completed, so what it measured on screen still counts."""


def format_findings(verdict: Verdict, *, seed: int | None = None) -> str:
    """A failure message: verdict, reasons and every finding's offending flows."""
    lines = [f"paywitness verdict: {verdict.verdict}"]
    lines += [f"  reason: {r}" for r in verdict.reasons]
    for f in verdict.findings:
        lines.append(f"  [{f.category}/{f.severity}] {f.rule_id}: {f.message}")
        for ev in f.evidence:
            lines.append(
                f"      step={ev.get('step')} {ev.get('method')} {ev.get('url')} "
                f"role={ev.get('role')} status={ev.get('status')} flow={ev.get('flow_id')}"
            )
    if seed is not None:
        lines.append(f"  reproduce with --paywitness-seed {seed}")
    return "\n".join(lines)


class Witness:
    """Ties a test to the run's record book: steps, links, and this test's own judgement."""

    def __init__(
        self,
        *,
        book: RecordBook,
        profile: Profile,
        ledger_path: Path,
        test_id: str,
        seed: int,
    ) -> None:
        self.book = book
        self.profile = profile
        self.ledger_path = ledger_path
        self.test_id = test_id
        self.seed = seed
        self.steps: list[str] = []
        self.categories: tuple[str, ...] = ()
        self.step_hooks: list[StepHook] = []
        #: Told about canaries the test plants itself (the data fixtures search for them).
        self.plant_hooks: list[Callable[[list[Canary]], None]] = []
        self.observer: WitnessObserver | None = None
        self.baseline_ledger_path: Path | None = None

    @property
    def start_url(self) -> str:
        hints = self.profile.flow
        return (hints.start_url if hints and hints.start_url else None) or self.profile.start_url

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Label every flow that starts inside the block with `name`."""
        self.book.set_step(name)
        self.steps.append(name)
        with ExitStack() as hooks:
            for hook in self.step_hooks:
                hooks.enter_context(hook(name, len(self.steps)))
            yield
        if self.observer is not None:
            self.observer.step_ended(name)

    def moment(self, name: str, page: Any = None) -> None:
        """A named point of the purchase (`buy`, `checkout-ready`, ...) for timing and screens."""
        if self.observer is not None:
            self.observer.moment(name, page)

    def plant(self, canaries: Iterable[Canary]) -> None:
        """Search all traffic for these values too, from now on (e.g. a card the test made)."""
        items = list(canaries)
        for hook in self.plant_hooks:
            hook(items)

    def link(self, kind: str, url: str) -> FlowRecord:
        """Record a link shown to the buyer (e.g. `invoice`) so its host's role is judged."""
        return self.book.link(kind, url)

    def records(self) -> list[FlowRecord]:
        """This test's records (its repeats' too), read back from the ledger on disk."""
        if not self.ledger_path.exists():
            return []
        repeats = self.test_id + "#r"
        return [
            r
            for r in read_ledger(self.ledger_path)
            if r.test == self.test_id or (r.test or "").startswith(repeats)
        ]

    def baseline_records(self) -> list[FlowRecord]:
        """The records of this test's replay on the baseline target, if it had one."""
        path = self.baseline_ledger_path
        if path is None or not path.exists():
            return []
        return [r for r in read_ledger(path) if (r.test or "").startswith(self.test_id + "#")]

    def judge(self) -> Verdict:
        return judge(
            self.records(),
            self.profile,
            meta={"test": self.test_id, "seed": self.seed},
            baseline=self.baseline_records(),
            classifier=self.book.classifier,
        )

    def assert_pass(self, categories: Sequence[str] | None = None) -> Verdict:
        """Judge this test's flows: any failing category fails the test with the evidence, and
        the scenario's own categories (default: its `paywitness_category` markers, else all)
        must pass; what a scenario does not exercise may stay unobserved here, never in the
        run's verdict."""
        verdict = self.judge()
        wanted = list(categories if categories is not None else self.categories)
        statuses = {str(name): c.status for name, c in verdict.categories.items()}
        failed = any(s == "fail" for s in statuses.values())
        unjudged = any(statuses.get(c) != "pass" for c in wanted)
        if failed or unjudged or (not wanted and verdict.verdict != "pass"):
            raise VerdictFailed(format_findings(verdict, seed=self.seed))
        return verdict
