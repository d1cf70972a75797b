"""The plugin's hooks: markers, the run's one `RecordingSession`, parametrization, the verdict.

Fixtures live in `paywitness.pytest_plugin.fixtures`, registered from `pytest_configure` so that
they are parsed after pytest-playwright's and our `browser_type_launch_args` wins over its
default, while a user's own conftest override (`{**browser_type_launch_args, ...}`) still wins
over ours.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from paywitness.combinations import (
    apply_combinations,
    parametrize_combinations,
    parse_shard,
    select_shard,
    skip_missing_browsers,
)
from paywitness.errors import ConfigError
from paywitness.flow_spec import BrowserSpec
from paywitness.proxy import LIBRARY_WARNINGS, quiet_library_warnings
from paywitness.pytest_plugin.keys import OUTCOMES_KEY, RESULT_KEY, SESSION_KEY
from paywitness.pytest_plugin.options import (
    proxy_in_own_process,
    pytest_addoption,
    resolve_run,
)
from paywitness.pytest_plugin.outcomes import JUDGED_PROPERTY, ScenarioOutcomes, mark_scenario

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]


class _XdistHooks:
    """Hand the controller's output folder and seed to every worker."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        run = node.config.stash[SESSION_KEY].run
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
    # mitmproxy's dependencies warn as they load (below) and on every TLS connection: the
    # precise filters now, and as ini lines, since pytest resets the filters for every test.
    quiet_library_warnings()
    for message, category, module in LIBRARY_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category.__name__}:{module}")
    # pytest 9 on pytest-base-url's `base_url` fixture (pulled in by pytest-playwright).
    if hasattr(pytest, "PytestRemovedIn10Warning"):
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Session-scoped fixtures defined as instance methods"
            r":pytest.PytestRemovedIn10Warning:_pytest\.fixtures",
        )
    try:
        run = resolve_run(config)
        own_process = proxy_in_own_process(config)
        from paywitness.pytest_plugin.seamless import configure_seamless

        configure_seamless(config, run)
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: {e}") from e
    from paywitness.session import RecordingSession

    # Constructed here, started by the first test that needs it (plain tests start nothing).
    config.stash[SESSION_KEY] = RecordingSession(
        run,
        resolve=config.getoption("--paywitness-resolve"),
        update_latest=config.getoption("--paywitness-output") is None,
        own_process=own_process,  # --paywitness-proxy process: mitmproxy off the test's GIL
    )
    from paywitness import scenario
    from paywitness.pytest_plugin import control, evidence, fixtures

    config.pluginmanager.register(fixtures, "paywitness.fixtures")
    config.pluginmanager.register(control, "paywitness.control")
    config.pluginmanager.register(scenario, "paywitness.scenario")
    config.pluginmanager.register(evidence, "paywitness.evidence")
    tracker = ScenarioOutcomes()
    config.stash[OUTCOMES_KEY] = tracker
    config.pluginmanager.register(tracker, "paywitness.outcomes")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_XdistHooks(), "paywitness.xdist")


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`payment_method` runs once per method the profile's flow describes.

    Last, after pytest-playwright's `browser_name`: a scenario's id (`[chromium-desktop-id-ID-
    card]`), from which its seed is derived, must not depend on the order pytest happened to
    register the two plugins in (that order follows `sys.path`: started from the project folder,
    an editable install's entry point came first, and `--seed 1` bought with other buyers)."""
    _parametrize_combinations(metafunc)
    if "payment_method" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(SESSION_KEY, None)
    flow = session.profile.flow if session is not None else None
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
    session = metafunc.config.stash.get(SESSION_KEY, None)
    browser = session.profile.browser if session is not None else BrowserSpec()
    parametrize_combinations(metafunc, browser)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash.get(SESSION_KEY, None)
    apply_combinations(items, session.profile.browser if session is not None else None)
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After everything else of the session (JUnit XML, Allure included): judge once, write
    the bundle and its manifest. Workers only record; the controller judges every ledger."""
    config = session.config
    if hasattr(config, "workerinput") or SESSION_KEY not in config.stash:
        return
    recording = config.stash[SESSION_KEY]
    alluredir = config.getoption("allure_report_dir", default=None)

    def before_manifest(meta: dict[str, Any]) -> None:
        if alluredir:
            from paywitness.evidence.allure_evidence import write_allure_checks, write_allure_meta

            write_allure_meta(Path(alluredir), meta)
            verdict_file = recording.run.output / "verdict.json"
            if verdict_file.is_file():  # every check, the unjudged ones as such
                write_allure_checks(Path(alluredir), json.loads(verdict_file.read_text("utf-8")))

    from paywitness.control import note_nothing_replayed

    note_nothing_replayed(recording.run)  # asked for, none ran: stated in the verdict
    result = recording.finish(
        config.stash[OUTCOMES_KEY].result(),
        bundle_meta={
            "pytest_exit_status": int(exitstatus),
            "junitxml": config.getoption("xmlpath", default=None),
            "alluredir": alluredir,
        },
        before_manifest=before_manifest,
    )
    if result.bundle_error is not None:
        config.issue_config_time_warning(
            pytest.PytestWarning(
                f"paywitness: the evidence bundle could not be finished: {result.bundle_error}"
            ),
            2,
        )
    config.stash[RESULT_KEY] = result


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    result = config.stash.get(RESULT_KEY, None)
    if result is None or result.verdict is None:
        return
    from paywitness.evidence.scorecard import scorecard_table
    from paywitness.report_text import verdict_table

    verdict = result.verdict
    terminalreporter.section("paywitness")
    combos = verdict.meta.get("combinations") or {}
    if len(combos) > 1:
        terminalreporter.write_line("scenarios by combination (method · device · locale):")
        for combo, counts in combos.items():
            spread = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
            terminalreporter.write_line(f"  {combo:<40} {spread}")
    regulation = config.stash[SESSION_KEY].run.profile.regulation
    for line in verdict_table(verdict, regulation).splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"evidence: {result.bundle}")
    if result.scorecard is not None:
        for line in scorecard_table(result.scorecard.to_dict()).splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"report: {result.bundle / 'report.html'}")
