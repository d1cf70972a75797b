"""pytest wiring of the control run (`--paywitness-control`, profile `observation.control`).

After a scenario that drives a `page` with a `witness` has finished (its page closed, its
records its own), `paywitness_control_replay` calls the same test function once more with the
same arguments (buyer, seed, payment method, ...) but a page of the control browser, which has
no proxy, and a witness whose records go to the control ledger (`paywitness.control`). A
scenario that needs the proxy (fault markers) or a fixture bound to the proxied page is listed
as not replayed, with why. Registered from `paywitness.pytest_plugin.hooks`.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from paywitness.control import ControlRun, replay_kwargs
from paywitness.pytest_plugin.keys import SESSION_KEY
from paywitness.session import RecordingSession

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = [
    "PAGE_BOUND_FIXTURES",
    "paywitness_control",
    "paywitness_control_replay",
    "pytest_runtest_makereport",
    "remote_reason",
]

#: Fixtures holding the proxied page or its context: a scenario taking one cannot be replayed
#: in another browser by swapping `page` alone.
PAGE_BOUND_FIXTURES = (
    "context",
    "new_context",
    "purchase",
    "paywitness_baseline",
    "paywitness_probe",
    "paywitness_capture",
    "paywitness_client_channels",
)
_CALLED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember that the test body ran (passed or failed, not skipped): only then replay it."""
    report = yield
    if report.when == "call" and not report.skipped:
        item.stash[_CALLED] = True
    return report


@pytest.fixture(scope="session")
def paywitness_control(
    paywitness_session: RecordingSession,
    connect_options: dict[str, Any] | None,
    browser_name: str | None,
    request: pytest.FixtureRequest,
) -> Iterator[ControlRun]:
    """This worker's control runs: a browser without the proxy, launched on first replay."""
    control = ControlRun(paywitness_session)
    faults = paywitness_session.run_faults  # a test's own fault markers skip that test only
    if connect_options:
        # Chosen at run time: the remote browser is asked only when a control was asked for.
        browser = request.getfixturevalue("browser")
        control.refuse(remote_reason(browser, str(connect_options.get("endpoint") or "")))
    elif browser_name not in (None, "chromium"):
        control.refuse(
            f"the control needs Chromium (host mapping and trust by SPKI), not {browser_name}"
        )
    elif faults:
        control.refuse(
            "the run injects faults through the proxy (profile or violation fault rules); a "
            "run without the proxy cannot, so a control would differ by construction"
        )
    else:
        # Chosen at run time: only a run with a control launches a second browser.
        control.prepare(
            request.getfixturevalue("browser_type"),
            request.getfixturevalue("browser_type_launch_args"),
        )
    try:
        yield control
    finally:
        control.close()


def remote_reason(browser: Browser, endpoint: str) -> str:
    """Why a remote browser gets no control: no CDP, or launched where we cannot map hosts."""
    try:
        cdp = browser.new_browser_cdp_session()
        cdp.detach()
    except Exception as e:  # any refusal means the same: no Chrome DevTools Protocol there
        return (
            f"the remote browser at {endpoint} exposes no CDP (Chrome DevTools Protocol: "
            f"{type(e).__name__}), which the control run needs; the run went on without it"
        )
    return (
        f"the remote browser at {endpoint} was launched elsewhere, so paywitness cannot start it "
        "without the proxy with the target's names mapped and its CA trusted; run the control "
        "with a local Chromium (drop --paywitness-connect)"
    )


def _skip_reason(item: pytest.Item, argnames: list[str]) -> str | None:
    if any(True for _ in item.iter_markers("faults")):
        return "its faults are injected by the proxy, and the control has no proxy"
    bound = [n for n in argnames if n in PAGE_BOUND_FIXTURES]
    if bound:
        return f"it takes {', '.join(bound)}, bound to the proxied browser"
    return None


@pytest.fixture(autouse=True)
def paywitness_control_replay(request: pytest.FixtureRequest) -> Iterator[None]:
    """With a control run, replay this scenario without the proxy once it has finished."""
    session = request.config.stash.get(SESSION_KEY, None)
    names = request.fixturenames
    if session is None or not session.run.control or "page" not in names or "witness" not in names:
        yield
        return
    # Set up before the test's page and witness, so torn down after them: the replay starts
    # once the proxied page is closed and its records are complete.
    control: ControlRun = request.getfixturevalue("paywitness_control")
    base_context_args: dict[str, Any] = request.getfixturevalue("browser_context_args")
    yield
    item = request.node
    if not item.stash.get(_CALLED, False) or control.unavailable is not None:
        return
    function = getattr(item, "obj", None)
    if function is None:
        return
    argnames = list(inspect.signature(function).parameters)
    reason = _skip_reason(item, argnames)
    if reason is not None:
        control.skip(item.nodeid, reason)
        return
    # The scenario's own device and locale, as pytest-playwright's `new_context` applies them.
    marker = next(item.iter_markers("browser_context_args"), None)
    context_args = {**base_context_args, **(marker.kwargs if marker else {})}
    funcargs = item.funcargs
    control.replay(
        item.nodeid,
        lambda page, witness: function(**replay_kwargs(argnames, funcargs, page, witness)),
        context_args,
    )
