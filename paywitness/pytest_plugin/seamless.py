"""pytest fixtures of the seamless checks: the continuity probe and the repeated comparison.

Registered through `paywitness.pytest_plugin.fixtures`. The probe attaches itself to every test that
uses both `page` and `witness`. `paywitness_baseline` runs a scenario `--paywitness-repeat`
times (default: the profile's `seamless.repeat` when there is a baseline, else once) and, on
the demo shop, as many times on the shop as it was before the migration, interleaved
(old, new, new, old, ...) so that both sides see the same machine load. A baseline bundle lent
with `--paywitness-baseline` replaces the built-in replay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from paywitness.errors import ConfigError
from paywitness.ledger import LedgerWriter, read_ledger, read_ledgers
from paywitness.profile import Profile, load_profile
from paywitness.records import UNLABELLED, RecordBook
from paywitness.run import RunContext
from paywitness.seamless.baseline import (
    BASELINE_JSON,
    LENT_DIR,
    lend_baseline,
    screen_records,
    source_record,
)
from paywitness.seamless.figures import BASELINE_SUFFIX, repeat_id, series_of
from paywitness.seamless.probe import ContinuityProbe
from paywitness.witness import Witness

if TYPE_CHECKING:
    from paywitness.session import RecordingSession, Target

__all__ = [
    "BASELINE_SUFFIX",
    "SETTINGS_KEY",
    "BaselineRun",
    "SeamlessSettings",
    "add_seamless_options",
    "baseline_ledger_path",
    "configure_seamless",
    "paywitness_baseline",
    "paywitness_probe",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
T = TypeVar("T")


@dataclass(frozen=True)
class SeamlessSettings:
    """How this run compares: the lent baseline bundle or the live baseline's profile (if any)
    and the repeats per side."""

    baseline_bundle: Path | None
    repeat: int | None  # None: the default (profile's `seamless.repeat` with a baseline, else 1)
    live_profile: Profile | None = None
    live_profile_path: Path | None = None


SETTINGS_KEY = pytest.StashKey[SeamlessSettings]()


def add_seamless_options(group: Any) -> None:
    """The `--paywitness-baseline` and `--paywitness-repeat` options (plugin's option group)."""
    group.addoption(
        "--paywitness-baseline",
        default=None,
        metavar="BUNDLE",
        help="Compare the seamless figures with this evidence bundle's (an earlier run, or "
        "`paywitness baseline record`)",
    )
    group.addoption(
        "--paywitness-repeat",
        type=int,
        default=None,
        metavar="N",
        help="Run the seamless scenario N times a side; default: the profile's seamless.repeat "
        "with a baseline, else 1",
    )
    group.addoption(
        "--paywitness-baseline-profile",
        default=None,
        metavar="PATH",
        help="Live baseline: replay the purchase on this profile's target (the shop before the "
        "migration), interleaved with the target's runs",
    )


def configure_seamless(config: pytest.Config, run: RunContext) -> None:
    """Check the options; on the controller, lend the baseline bundle's figures to the run."""
    repeat = config.getoption("--paywitness-repeat", None)
    if repeat is not None and repeat < 1:
        raise ConfigError(
            f"--repeat {repeat}: a side needs at least one run (1 is allowed, 3 or more lets the "
            "timings be tested for significance)"
        )
    bundle_opt = config.getoption("--paywitness-baseline", None)
    bundle = Path(bundle_opt) if bundle_opt else None
    live_opt = config.getoption("--paywitness-baseline-profile", None)
    live: Profile | None = None
    if live_opt:
        if bundle is not None:
            raise ConfigError(
                "--baseline and --baseline-profile are two baselines; give one (a stored bundle, "
                "or the old target replayed live)"
            )
        live = live_baseline_profile(Path(live_opt), run.profile)
    config.stash[SETTINGS_KEY] = SeamlessSettings(
        bundle, repeat, live, Path(live_opt) if live_opt else None
    )
    if bundle is None or hasattr(config, "workerinput"):
        return
    if bundle.resolve() == run.output.resolve():
        raise ConfigError(f"--baseline {bundle} is this run's own output folder; name another")
    from paywitness.run import ensure_writable

    ensure_writable(run.output)
    lend_baseline(bundle, run.profile, run.output)


def live_baseline_profile(path: Path, profile: Profile) -> Profile:
    """The old target's profile: valid, with a flow to drive, and the same roles."""
    old = load_profile(path)
    if old.flow is None:
        raise ConfigError(f"--baseline-profile {path} has no `flow` section to drive a purchase")
    mine, theirs = sorted(r.name for r in profile.roles), sorted(r.name for r in old.roles)
    if mine != theirs:
        raise ConfigError(
            f"--baseline-profile {path} describes other roles ({', '.join(theirs)}) than this "
            f"run's profile ({', '.join(mine)}); a baseline is the same shop before the migration"
        )
    return old


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
    """Runs a scenario N times a side (target, and the demo's pre-migration replay), interleaved.

    `compare(scenario)` is the whole comparison; `replay(scenario)` one baseline run only.
    """

    run: RunContext
    book: RecordBook
    browser: Browser
    context_args: dict[str, Any]
    test_id: str
    probe: ContinuityProbe | None
    witness: Witness | None = None
    page: Page | None = None
    target: Target | None = None
    repeat: int = 1
    lent: bool = False
    live_profile: Profile | None = None
    live_profile_path: Path | None = None
    _ledger: LedgerWriter | None = field(default=None, init=False)
    _baseline_runs: int = field(default=0, init=False)
    _target_runs: int = field(default=0, init=False)

    @property
    def test_id_baseline(self) -> str:
        return self.test_id + BASELINE_SUFFIX

    @property
    def replays(self) -> bool:
        """True when this run replays the scenario: a live old target, or the demo's
        pre-migration shop."""
        if self.lent:
            return False
        return self.live_profile is not None or (
            self.target is not None and self.target.demo is not None
        )

    def compare(self, scenario: Callable[[Page, Witness], T]) -> list[T]:
        """Run the scenario `repeat` times a side, interleaved old/new; the target's results.

        The baseline goes first (the browser's cold start weighs on it, never on the migrated
        shop), then pairs alternate: B T, T B, B T, ... The first target run is the test's own
        page and witness; the others use fresh contexts of the same browser.
        """
        results: list[T] = []
        for i in range(self.repeat):
            order = ("b", "t") if i % 2 == 0 else ("t", "b")
            for side in order:
                if side == "b" and self.replays:
                    self.replay(scenario)
                elif side == "t":
                    results.append(self._target(scenario))
        self.finish()
        return results

    def _target(self, scenario: Callable[[Page, Witness], T]) -> T:
        self._target_runs += 1
        k = self._target_runs
        if k == 1 and self.page is not None and self.witness is not None:
            return scenario(self.page, self.witness)
        test = repeat_id(self.test_id, k)
        return self._in_new_context(
            scenario,
            test=test,
            ledger=self.run.ledger_path,
            run_name="target",
            screens=None,
        )

    def replay(self, scenario: Callable[[Page, Witness], object]) -> None:
        """One run of `scenario(page, witness)` on the baseline: the live old target as it is,
        or the demo shop switched to its pre-migration behaviour for the run."""
        live = self.live_profile
        target = self.target
        demo = target.demo if target is not None and live is None else None
        if live is None and demo is None:
            raise ConfigError("the built-in baseline replay needs the built-in demo shop")
        if self._ledger is None:
            self._ledger = LedgerWriter(baseline_ledger_path(self.run))
            name = (
                f"{live.name} ({self.live_profile_path}, live)"
                if live is not None
                else f"{self.run.profile.name} (demo shop before the migration)"
            )
            self._ledger.write(
                source_record(
                    {
                        "kind": "live replay" if live is not None else "replay",
                        "profile": name,
                        "version": _version(),
                        "commit": None,
                        "date": _now(),
                    },
                    test=self.test_id_baseline,
                )
            )
        self._baseline_runs += 1
        k = self._baseline_runs
        test = repeat_id(self.test_id_baseline, k)
        if self.witness is not None:
            self.witness.baseline_ledger_path = self._ledger.path
        previous = (demo.violations, demo.baseline) if demo is not None else None
        if demo is not None:
            demo.configure(baseline=True)
        try:
            with self.book.replaying(test, self._ledger):
                self._in_new_context(
                    scenario,
                    test=test,
                    ledger=self._ledger.path,
                    run_name="baseline",
                    screens=self.probe.screens_dir if self.probe and k == 1 else None,
                    profile=live,
                )
        finally:
            if demo is not None and previous is not None:
                demo.configure(violations=previous[0], baseline=previous[1])
        self.finish()

    def _in_new_context(
        self,
        scenario: Callable[[Page, Witness], T],
        *,
        test: str,
        ledger: Path,
        run_name: str,
        screens: Path | None,
        profile: Profile | None = None,
    ) -> T:
        previous = self.book.begin_test(test)
        profile = profile or self.run.profile
        context: BrowserContext = self.browser.new_context(**self.context_args)
        probe = ContinuityProbe(context, self.book, profile, screens_dir=screens, run=run_name)
        try:
            if run_name == "target":
                # What the browser itself requested, as for the test's own context (coverage).
                from paywitness.coverage import ClientWatch

                ClientWatch(self.book).watch(context)
            page = context.new_page()
            probe.attach(page)
            witness = Witness(
                book=self.book,
                profile=profile,
                ledger_path=ledger,
                test_id=test,
                seed=self.run.seed,
            )
            witness.observer = probe
            return scenario(page, witness)
        finally:
            context.close()
            probe.close()
            self.book.set_step(UNLABELLED)
            self.book.begin_test(previous)

    def finish(self) -> None:
        """Write this test's baseline view (its baseline runs and screen comparisons) for the
        test's own judgement; the run's verdict recomputes the same from the bundle."""
        if self.witness is None:
            return
        base_paths = []
        if self.lent:
            base_paths = [self.run.output / LENT_DIR / "ledger.jsonl"]
        elif self._ledger is not None:
            base_paths = [self._ledger.path]
        base_paths = [p for p in base_paths if p.exists()]
        if not base_paths:
            return
        baseline = [
            r
            for r in read_ledgers(base_paths)
            if r.extra.get("probe") != "screen-diff" and _matches(r.test or "", self.test_id)
        ]
        target = (
            [
                r
                for r in read_ledger(self.run.ledger_path)
                if series_of(r.test or "") == self.test_id
            ]
            if self.run.ledger_path.exists()
            else []
        )
        screens = screen_records(self.run.output, self.run.profile, target, baseline)
        view_dir = self.probe.screens_dir if self.probe and self.probe.screens_dir else None
        view_dir = view_dir or _screens_dir(self.run, self.test_id)
        view_dir.mkdir(parents=True, exist_ok=True)
        view = view_dir / "baseline-view.jsonl"
        if view.exists():
            view.unlink()
        writer = LedgerWriter(view)
        try:
            for r in baseline:
                if self.lent:
                    r.test = self.test_id_baseline + (r.test or "").partition(BASELINE_SUFFIX)[2]
                writer.write(r)
            for r in screens:
                r.test = self.test_id_baseline
                writer.write(r)
        finally:
            writer.close()
        self.witness.baseline_ledger_path = view

    def close(self) -> None:
        for k in range(1, self._baseline_runs + 1):
            self.book.route(repeat_id(self.test_id_baseline, k), None)
        if self._ledger is not None:
            self._ledger.close()


def _matches(baseline_test: str, test_id: str) -> bool:
    key = series_of(baseline_test)
    return key == test_id or key.split("::")[-1] == test_id.split("::")[-1]


def _version() -> str:
    from paywitness._version import __version__

    return __version__


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


@pytest.fixture
def paywitness_baseline(
    paywitness_session: RecordingSession,
    browser: Browser,
    browser_context_args: dict[str, Any],
    paywitness_probe: ContinuityProbe | None,
    request: pytest.FixtureRequest,
) -> Iterator[BaselineRun]:
    """Runs a scenario N times a side against its baseline (demo replay, live or lent bundle)."""
    run = paywitness_session.run
    settings = request.config.stash.get(SETTINGS_KEY, SeamlessSettings(None, None))
    lent = (run.output / BASELINE_JSON).is_file()
    live = settings.live_profile
    target: Target | None = None
    if run.demo and not run.baseline and not lent:
        target = paywitness_session.target
    has_baseline = lent or live is not None or (target is not None and target.demo is not None)
    repeat = settings.repeat or (run.profile.seamless.repeat if has_baseline else 1)
    names = request.fixturenames
    # The scenario's own device and locale (pytest-playwright's `browser_context_args` marker,
    # as its `new_context` applies it): the repeats and the replay on the old shop must show
    # the same screen as the test's own page, or their screens and timings do not compare.
    marker = next(request.node.iter_markers("browser_context_args"), None)
    context_args = {**browser_context_args, **(marker.kwargs if marker else {})}
    baseline = BaselineRun(
        run=run,
        book=paywitness_session.book,
        browser=browser,
        context_args=context_args,
        test_id=request.node.nodeid,
        probe=paywitness_probe,
        # Chosen at run time: the test's own witness and page run the first target repeat.
        witness=request.getfixturevalue("witness") if "witness" in names else None,
        page=request.getfixturevalue("page") if "page" in names else None,
        target=target,
        repeat=repeat,
        lent=lent,
        live_profile=live,
        live_profile_path=settings.live_profile_path,
    )
    try:
        yield baseline
    finally:
        baseline.close()
