"""pytest side of the evidence bundle (registered by `paywitness.plugin`).

Fixtures: the run's redactor, the HAR capture addon, per-test screenshots and trace through
pytest-playwright's `new_context` seam (wrapped, not forked). Hooks: after everything else of the
session (JUnit XML and Allure included) the bundle is finished and its manifest written; the
scorecard is printed last.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from paywitness.canaries import Canary, CanarySet
from paywitness.client_channels import ClientChannels
from paywitness.evidence.allure_evidence import AllureEvidence, write_allure_meta
from paywitness.evidence.bundle import finalize_bundle
from paywitness.evidence.capture import StepCapture
from paywitness.evidence.har import har_entries_path
from paywitness.evidence.redaction import CANARIES_FILE, Redactor
from paywitness.evidence.runmeta import record_browser, save_ca_cert
from paywitness.evidence.scorecard import scorecard_table
from paywitness.evidence.trace_mask import mask_trace
from paywitness.plugin import RUN_KEY
from paywitness.proxy import ProxyRunner
from paywitness.run import RunContext
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.har_capture import HarCapture

__all__ = [
    "TEST_CANARIES_KEY",
    "new_context",
    "paywitness_ca_saved",
    "paywitness_capture",
    "paywitness_har_capture",
    "paywitness_redactor",
]

_CARD_KEY = pytest.StashKey[dict[str, Any] | None]()
#: The test's canaries under the run's salt (read by the data fixtures), on the test item.
TEST_CANARIES_KEY = pytest.StashKey[CanarySet]()
_ALLURE_KEY = pytest.StashKey["AllureEvidence"]()
ContextFactory = Callable[..., BrowserContext]


_REDACTOR_KEY = pytest.StashKey[Redactor]()


@pytest.fixture(scope="session")
def paywitness_redactor(pytestconfig: pytest.Config) -> Redactor:
    """Masks cookies, credentials, tokens, cards and this run's canaries in what is written."""
    redactor = Redactor()
    pytestconfig.stash[_REDACTOR_KEY] = redactor
    return redactor


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mask the report itself (failure text, captured output) before anything writes it.

    Innermost wrapper: Allure, JUnit XML, the terminal and xdist's controller all see the
    masked report. pytest puts local values (a buyer's name, a card) in assertion messages.
    """
    report = yield
    redactor = item.config.stash.get(_REDACTOR_KEY, None)
    if redactor is None:
        return report
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redactor.text(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redactor.text(body)) for title, body in report.sections]
    if call.excinfo is not None:  # Allure reads the exception's own message
        exc = call.excinfo.value
        exc.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in exc.args)
    return report


@pytest.fixture(scope="session")
def paywitness_har_capture(
    paywitness_run: RunContext,
    paywitness_recorder: BackendRecorder,
    paywitness_redactor: Redactor,
) -> HarCapture:
    """The proxy addon writing one masked HAR entry per flow (mitmproxy's HAR exporter)."""
    paywitness_recorder.mask_text = paywitness_redactor.text
    return HarCapture(
        redactor=paywitness_redactor,
        path=har_entries_path(paywitness_run.output, paywitness_run.worker),
    )


@pytest.fixture(scope="session")
def paywitness_ca_saved(paywitness_run: RunContext, paywitness_proxy: ProxyRunner) -> None:
    """The proxy CA's public certificate, copied into the bundle once per worker."""
    save_ca_cert(paywitness_run.output, paywitness_run.worker, paywitness_proxy.ca_cert_path)


def _register_canaries(request: pytest.FixtureRequest, redactor: Redactor, run: RunContext) -> None:
    canaries: list[Canary] = []
    seed = None
    if "buyer" in request.fixturenames:
        test_buyer = request.getfixturevalue("buyer")
        seed = test_buyer.seed
        canaries += CanarySet.from_buyer(test_buyer).canaries
    if "card" in request.fixturenames:
        canaries.append(Canary("card", request.getfixturevalue("card").number))
    if canaries:
        added = redactor.add_canaries(canaries)
        redactor.write_canaries(
            run.output / CANARIES_FILE, added, test=request.node.nodeid, worker=run.worker
        )
        request.node.stash[TEST_CANARIES_KEY] = CanarySet(tuple(canaries), redactor.salt, seed)


@pytest.fixture
def paywitness_capture(
    paywitness_run: RunContext,
    paywitness_redactor: Redactor,
    paywitness_ca_saved: None,
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
) -> StepCapture:
    """This test's screenshots (one per step) and Playwright trace, kept in the bundle."""
    _register_canaries(request, paywitness_redactor, paywitness_run)
    # pytest-playwright's own --tracing owns the trace when it is on: one tracer per context.
    own_trace = pytestconfig.getoption("--tracing", default="off") == "off"
    capture = StepCapture(paywitness_run.output, request.node.nodeid, trace=own_trace)
    capture.mask_trace = lambda path: mask_trace(path, paywitness_redactor)
    allure_evidence = pytestconfig.stash.get(_ALLURE_KEY, None)
    if allure_evidence is not None:
        allure_evidence.attach(capture, request.node, paywitness_run.worker)
    return capture


@pytest.fixture
def new_context(
    new_context: ContextFactory,
    browser_type_launch_args: dict[str, Any],
    paywitness_run: RunContext,
    request: pytest.FixtureRequest,
) -> Iterator[ContextFactory]:
    """pytest-playwright's context factory; a witnessed test's contexts are also traced."""
    capture: StepCapture | None = None
    channels: ClientChannels | None = None
    if "witness" in request.fixturenames:
        capture = request.getfixturevalue("paywitness_capture")
        channels = request.getfixturevalue("paywitness_client_channels")

    def factory(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        browser = context.browser
        if browser is not None:
            record_browser(
                paywitness_run.output,
                paywitness_run.worker,
                {
                    "name": browser.browser_type.name,
                    "version": browser.version,
                    "executable": str(browser_type_launch_args.get("executable_path") or ""),
                },
            )
        if capture is not None:
            capture.add_context(context)
        if channels is not None:
            channels.attach(context)
        return context

    yield factory
    if channels is not None:
        channels.snapshot()  # storage written after the last step still counts for the run
    if capture is not None:
        capture.stop()  # before pytest-playwright's own teardown closes the contexts


def pytest_configure(config: pytest.Config) -> None:
    # Allure is an optional listener: only when allure-pytest writes results.
    if config.getoption("allure_report_dir", default=None):
        config.stash[_ALLURE_KEY] = AllureEvidence()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or RUN_KEY not in config.stash:
        return
    run = config.stash[RUN_KEY]
    extra = {
        "pytest_exit_status": int(exitstatus),
        "junitxml": config.getoption("xmlpath", default=None),
        "alluredir": config.getoption("allure_report_dir", default=None),
    }
    alluredir = config.getoption("allure_report_dir", default=None)

    def before_manifest(meta: dict[str, Any]) -> None:
        if alluredir:
            write_allure_meta(Path(alluredir), meta)

    try:
        card = finalize_bundle(run, extra, before_manifest=before_manifest)
    except (OSError, ValueError, json.JSONDecodeError) as e:
        config.issue_config_time_warning(
            pytest.PytestWarning(f"paywitness: the evidence bundle could not be finished: {e}"), 2
        )
        card = None
    config.stash[_CARD_KEY] = card


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    card = config.stash.get(_CARD_KEY, None)
    if card is None:
        return
    for line in scorecard_table(card).splitlines():
        terminalreporter.write_line(line)
    run = config.stash[RUN_KEY]
    terminalreporter.write_line(f"report: {run.output / 'report.html'}")
