"""pytest plugin (entry point `paywitness`): options, markers, run setup and the run verdict.

Fixtures live in `paywitness.pytest_fixtures`, registered from `pytest_configure` so that they are
parsed after pytest-playwright's and our `browser_type_launch_args` wins over its default, while
a user's own conftest override (`{**browser_type_launch_args, ...}`) still wins over ours.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from paywitness.combinations import (
    COMBINATION_PROPERTY,
    DESKTOP,
    apply_combinations,
    combination_of,
    parse_shard,
    select_shard,
    skip_missing_browsers,
)
from paywitness.errors import ConfigError
from paywitness.profile import demo_profile_path, load_profile
from paywitness.run import (
    RunContext,
    default_output_dir,
    ensure_writable,
    unfinished_of,
    update_latest_link,
)
from paywitness.verdict import Verdict

__all__ = ["RUN_KEY", "mark_scenario"]

RUN_KEY = pytest.StashKey[RunContext]()
_VERDICT_KEY = pytest.StashKey[Verdict | None]()
_OUTCOMES_KEY = pytest.StashKey["_ScenarioOutcomes"]()
SCENARIO_PROPERTY = "paywitness-scenario"
#: Set on a scenario whose failure is its own judgement (findings), not a crash or a timeout.
JUDGED_PROPERTY = "paywitness-judged"


def mark_scenario(item: pytest.Item) -> None:
    """Tag a scenario (a test using `witness`) so its reports are counted, even a setup error
    that happens before the witness exists (a browser or proxy that failed to start)."""
    names = {k for k, _ in item.user_properties}
    if SCENARIO_PROPERTY not in names:
        item.user_properties.append((SCENARIO_PROPERTY, True))
    combo = combination_of(item)
    if combo and COMBINATION_PROPERTY not in names:
        item.user_properties.append((COMBINATION_PROPERTY, combo))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paywitness", "paywitness: payment routing evidence")
    group.addoption(
        "--paywitness-profile",
        default=None,
        metavar="PATH",
        help="Target profile (YAML); default: the built-in demo shop's profile",
    )
    group.addoption(
        "--paywitness-demo",
        action="store_true",
        default=False,
        help="Start the built-in demo shop (implied when no profile is given)",
    )
    group.addoption(
        "--paywitness-violation",
        action="append",
        default=[],
        metavar="NAME",
        help="Make the demo shop misbehave in this named way (repeatable)",
    )
    group.addoption(
        "--paywitness-pre-migration",
        action="store_true",
        default=False,
        help="Run the demo shop as it was before the migration",
    )
    from paywitness.seamless.fixtures import add_seamless_options

    add_seamless_options(group)
    group.addoption(
        "--paywitness-output",
        default=None,
        metavar="DIR",
        help="Evidence bundle folder; default: reports/<timestamp>/ (also reports/latest)",
    )
    group.addoption(
        "--paywitness-seed",
        type=int,
        default=None,
        metavar="INT",
        help="Seed for buyers, cards and canaries; default: random, shown in the report",
    )
    group.addoption(
        "--paywitness-browser",
        default=None,
        metavar="PATH",
        help="Chromium binary; default: Playwright's own, else the system's",
    )
    group.addoption(
        "--paywitness-method",
        action="append",
        default=[],
        metavar="NAME",
        help="Only run these payment methods of the profile's flow (repeatable)",
    )
    group.addoption(
        "--paywitness-resolve",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="Dial SCHEME://ADDRESS:PORT for HOST through the proxy (repeatable; like curl)",
    )
    group.addoption(
        "--paywitness-device",
        action="append",
        default=[],
        metavar="NAME",
        help="Emulate this device: desktop or a Playwright device name such as 'Pixel 7' "
        "(repeatable)",
    )
    group.addoption(
        "--paywitness-locale",
        action="append",
        default=[],
        metavar="LOCALE",
        help="Browser locale such as id-ID or en-US (repeatable)",
    )
    group.addoption(
        "--paywitness-shard",
        default=None,
        metavar="I/N",
        help="Run only shard I of N of the scenarios (merge the bundles with paywitness merge)",
    )
    group.addoption(
        "--paywitness-connect",
        default=None,
        metavar="WS_URL",
        help="Use a remote browser (Playwright browser server) at this ws:// endpoint",
    )
    parser.addini("paywitness_profile", "Default target profile (YAML)", default="")
    parser.addini("paywitness_output", "Default evidence bundle parent folder", default="reports")


def _resolve_run(config: pytest.Config) -> RunContext:
    # Precedence: command line > ini > built-in default.
    profile_opt = config.getoption("--paywitness-profile") or config.getini("paywitness_profile")
    demo = bool(config.getoption("--paywitness-demo")) or not profile_opt
    profile_path = Path(profile_opt) if profile_opt else demo_profile_path()
    violations = tuple(config.getoption("--paywitness-violation"))
    baseline = bool(config.getoption("--paywitness-pre-migration"))
    if (violations or baseline) and not demo:
        raise ConfigError(
            "--paywitness-violation and --paywitness-pre-migration change the built-in demo shop; "
            "add --paywitness-demo or leave --paywitness-profile out"
        )
    if violations:
        from paywitness.demo.violations import get_violation

        for v in violations:
            get_violation(v)
    profile = load_profile(profile_path)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        output = Path(workerinput["paywitness_output"])
        seed = int(workerinput["paywitness_seed"])
        worker = str(workerinput["workerid"])
    else:
        out_opt = config.getoption("--paywitness-output")
        output = (
            Path(out_opt)
            if out_opt
            else default_output_dir(Path(config.getini("paywitness_output")))
        )
        seed_opt = config.getoption("--paywitness-seed")
        seed = seed_opt if seed_opt is not None else random.SystemRandom().randrange(1, 10**9)
        worker = "main"
    return RunContext(
        output=output.resolve(),
        profile=profile,
        profile_path=profile_path,
        seed=seed,
        worker=worker,
        demo=demo,
        violations=violations,
        baseline=baseline,
    )


class _XdistHooks:
    """Hand the controller's output folder and seed to every worker."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        run = node.config.stash[RUN_KEY]
        node.workerinput["paywitness_output"] = str(run.output)
        node.workerinput["paywitness_seed"] = run.seed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "paywitness_category(name): the evidence category a scenario judges"
    )
    config.addinivalue_line(
        "markers", "payment_method(name): the payment method a scenario pays with"
    )
    config.addinivalue_line(
        "markers",
        "faults(*rules): fault rules the proxy injects during this test only "
        "(e.g. 'role=gateway endpoint=charge status=502 first=1')",
    )
    try:
        config.stash[RUN_KEY] = _resolve_run(config)
        from paywitness.seamless.fixtures import configure_seamless

        configure_seamless(config, config.stash[RUN_KEY])
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: {e}") from e
    from paywitness import pytest_fixtures

    config.pluginmanager.register(pytest_fixtures, "paywitness.pytest_fixtures")
    from paywitness import scenario

    config.pluginmanager.register(scenario, "paywitness.scenario")
    from paywitness.evidence import pytest_evidence

    config.pluginmanager.register(pytest_evidence, "paywitness.evidence")
    from paywitness import data_fixtures

    config.pluginmanager.register(data_fixtures, "paywitness.data")
    tracker = _ScenarioOutcomes()
    config.stash[_OUTCOMES_KEY] = tracker
    config.pluginmanager.register(tracker, "paywitness.outcomes")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_XdistHooks(), "paywitness.xdist")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`payment_method` runs once per method the profile's flow describes."""
    _parametrize_combinations(metafunc)
    if "payment_method" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash.get(RUN_KEY, None)
    flow = run.profile.flow if run is not None else None
    methods = list(flow.methods) if flow is not None else ["card"]
    chosen = metafunc.config.getoption("--paywitness-method")
    unknown = [m for m in chosen if m not in methods]
    if unknown:
        raise pytest.UsageError(
            f"paywitness: --paywitness-method {', '.join(unknown)} is not a payment method of "
            f"the profile (known: {', '.join(methods)})"
        )
    selected = [m for m in methods if not chosen or m in chosen]
    metafunc.parametrize("payment_method", selected, ids=selected)


def _parametrize_combinations(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "paywitness_device" in metafunc.fixturenames:
        devices = list(dict.fromkeys(config.getoption("--paywitness-device"))) or [DESKTOP]
        ids = [d.lower().replace(" ", "-") for d in devices]
        metafunc.parametrize("paywitness_device", devices, ids=ids)
    if "paywitness_locale" in metafunc.fixturenames:
        locales = list(dict.fromkeys(config.getoption("--paywitness-locale"))) or ["id-ID"]
        metafunc.parametrize("paywitness_locale", locales, ids=locales)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    apply_combinations(items)
    for item in items:
        if "witness" in getattr(item, "fixturenames", ()):
            mark_scenario(item)
    skip_missing_browsers(items)
    shard = parse_shard(config.getoption("--paywitness-shard"))
    if shard is not None:
        select_shard(config, items, shard)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A scenario failed by its own verdict (`VerdictFailed`) completed: say so in its report."""
    from paywitness.witness import VerdictFailed

    if call.excinfo is not None and call.excinfo.errisinstance(VerdictFailed):
        item.user_properties.append((JUDGED_PROPERTY, True))
    report = yield
    return report


class _ScenarioOutcomes:
    """Collects how each scenario ended (on the xdist controller too: reports travel).

    Any test that fails or errors counts, tagged as a scenario or not: a worker that crashed
    or a fixture that broke before the scenario was tagged leaves a report with no properties,
    and what that test did not get to do was not observed.
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.combinations: dict[str, str] = {}
        #: Scenarios that failed on their own findings: complete, unlike a crash.
        self.judged: set[str] = set()

    def by_combination(self) -> dict[str, dict[str, int]]:
        """Outcome counts per `method · device · locale`, for reports grouped by combination."""
        grouped: dict[str, dict[str, int]] = {}
        for nodeid, outcome in self.outcomes.items():
            combo = self.combinations.get(nodeid, "default")
            counts = grouped.setdefault(combo, {})
            counts[outcome] = counts.get(outcome, 0) + 1
        return dict(sorted(grouped.items()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.failed:
            self.outcomes[report.nodeid] = "failed" if report.when == "call" else "error"
            if report.when == "call" and JUDGED_PROPERTY in props:
                self.judged.add(report.nodeid)
        if SCENARIO_PROPERTY not in props:
            return
        if COMBINATION_PROPERTY in props:
            self.combinations[report.nodeid] = str(props[COMBINATION_PROPERTY])
        if report.skipped:
            self.outcomes.setdefault(report.nodeid, "skipped")
        elif report.passed and report.when == "call":
            self.outcomes.setdefault(report.nodeid, "passed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or RUN_KEY not in config.stash:
        return
    run = config.stash[RUN_KEY]
    tracker = config.stash[_OUTCOMES_KEY]
    outcomes = tracker.outcomes
    meta: dict[str, Any] = {
        "scenarios": dict(sorted(outcomes.items())),
        "combinations": tracker.by_combination(),
        "failed_on_findings": sorted(tracker.judged),
    }
    verdict = run.judge_and_write(meta, unfinished=unfinished_of(outcomes, tracker.judged))
    config.stash[_VERDICT_KEY] = verdict
    if verdict is not None and config.getoption("--paywitness-output") is None:
        update_latest_link(run.output)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    verdict = config.stash.get(_VERDICT_KEY, None)
    if verdict is None:
        return
    from paywitness.report_text import verdict_table

    run = config.stash[RUN_KEY]
    terminalreporter.section("paywitness")
    combos = verdict.meta.get("combinations") or {}
    if len(combos) > 1:
        terminalreporter.write_line("scenarios by combination (method · device · locale):")
        for combo, counts in combos.items():
            spread = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
            terminalreporter.write_line(f"  {combo:<40} {spread}")
    for line in verdict_table(verdict).splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"evidence: {run.output}")


def ensure_output(run: RunContext) -> None:
    """Create the output folder on first use (a run that records nothing leaves none)."""
    try:
        ensure_writable(run.output)
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: {e}") from e
