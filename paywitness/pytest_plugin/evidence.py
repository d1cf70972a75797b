"""pytest side of the evidence bundle: masked reports, screenshots and traces per test.

Per-test screenshots and trace go through pytest-playwright's `new_context` seam (wrapped, not
forked): every context it makes is registered with the test's `BrowserContexts`, which hands it
to whatever the test's witness attaches (tracing, client channels, coverage), whether the
context was made before the witness or after it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from paywitness.browser import screencast_needed
from paywitness.evidence.allure_evidence import AllureEvidence
from paywitness.evidence.capture import StepCapture
from paywitness.evidence.runmeta import record_browser
from paywitness.evidence.trace_mask import mask_trace
from paywitness.pytest_plugin.keys import SESSION_KEY
from paywitness.run import RunContext
from paywitness.session import RecordingSession

__all__ = ["BrowserContexts", "browser_contexts", "new_context", "paywitness_capture"]

_ALLURE_KEY = pytest.StashKey[AllureEvidence]()
_CONTEXTS_KEY = pytest.StashKey["BrowserContexts"]()
ContextFactory = Callable[..., BrowserContext]


class BrowserContexts:
    """One test's browser contexts, and what is attached to each of them."""

    def __init__(self) -> None:
        self.contexts: list[BrowserContext] = []
        # Whether their traces need the screencast for the browser to paint after each input
        # (set by the context factory, which knows how the browser was launched).
        self.screencast = True
        self._attach: list[Callable[[BrowserContext], object]] = []
        self._before_close: list[Callable[[], object]] = []

    def add(self, context: BrowserContext) -> None:
        self.contexts.append(context)
        for attach in self._attach:
            attach(context)

    def on_context(self, attach: Callable[[BrowserContext], object]) -> None:
        """Call `attach` for every context of the test: those made already, and later ones."""
        self._attach.append(attach)
        for context in self.contexts:
            attach(context)

    def before_close(self, hook: Callable[[], object]) -> None:
        """Call `hook` once, before pytest-playwright closes the test's contexts."""
        self._before_close.append(hook)

    def close(self) -> None:
        hooks, self._before_close = self._before_close, []
        for hook in hooks:
            hook()


def browser_contexts(item: pytest.Item) -> BrowserContexts:
    """The test's context registry (made on first use)."""
    if _CONTEXTS_KEY not in item.stash:
        item.stash[_CONTEXTS_KEY] = BrowserContexts()
    return item.stash[_CONTEXTS_KEY]


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mask the report itself (failure text, captured output) before anything writes it.

    Innermost wrapper: Allure, JUnit XML, the terminal and xdist's controller all see the
    masked report. pytest puts local values (a buyer's name, a card) in assertion messages.
    """
    report = yield
    session = item.config.stash.get(SESSION_KEY, None)
    if session is None:
        return report
    redactor = session.redactor
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


@pytest.fixture
def paywitness_capture(
    paywitness_session: RecordingSession,
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
) -> StepCapture:
    """This test's screenshots (one per step) and Playwright trace, kept in the bundle."""
    run = paywitness_session.run
    # pytest-playwright's own --tracing owns the trace when it is on: one tracer per context.
    own_trace = pytestconfig.getoption("--tracing", default="off") == "off"
    capture = StepCapture(run.output, request.node.nodeid, trace=own_trace)
    redactor = paywitness_session.redactor  # cookies and credentials get its salted masks
    capture.mask_trace = lambda path: mask_trace(path, redactor)
    capture.planted = redactor.planted_values
    allure_evidence = pytestconfig.stash.get(_ALLURE_KEY, None)
    if allure_evidence is not None:
        allure_evidence.attach(capture, request.node, run.worker)
    return capture


@pytest.fixture
def new_context(
    new_context: ContextFactory,
    browser_type_launch_args: dict[str, Any],
    connect_options: dict[str, Any] | None,
    paywitness_run: RunContext,
    request: pytest.FixtureRequest,
) -> Iterator[ContextFactory]:
    """pytest-playwright's context factory; a witnessed test's contexts are also traced."""
    contexts = browser_contexts(request.node)
    # A remote browser's binary is not known here: its traces keep the screencast.
    contexts.screencast = bool(connect_options) or screencast_needed(browser_type_launch_args)

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
        contexts.add(context)
        return context

    yield factory
    contexts.close()  # before pytest-playwright's own teardown closes the contexts


def pytest_configure(config: pytest.Config) -> None:
    # Allure is an optional listener: only when allure-pytest writes results.
    if config.getoption("allure_report_dir", default=None):
        config.stash[_ALLURE_KEY] = AllureEvidence()
