"""Fixtures of the paywitness pytest plugin (registered by `paywitness.pytest_plugin.hooks`).

Layered like pytest-playwright: session settings (`paywitness_run`, `paywitness_profile`), the
run's `paywitness_session` (a `RecordingSession`: target, proxy, ledger; started once per
worker), then per-test handles (`witness`, `buyer`, `card`) that reset it per test
(`begin_test`/`end_test`, as pytest-httpserver's `clear()`). The proxy joins pytest-playwright's
own seam: `browser_type_launch_args` gains `proxy`, the trusted CA and the quiet-browser flags.
"""

from __future__ import annotations

import gc
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from paywitness.browser import CHROMIUM_ARGS, find_chromium, launched_headless
from paywitness.browser_observers import BrowserObservers
from paywitness.canaries import Canary, CanarySet
from paywitness.client_channels import ClientChannels
from paywitness.combinations import DESKTOP
from paywitness.errors import ConfigError
from paywitness.evidence.capture import StepCapture
from paywitness.profile import Profile
from paywitness.proxy import ProxyRunner
from paywitness.proxy_process import ProxyProcess
from paywitness.pytest_plugin.evidence import browser_contexts
from paywitness.pytest_plugin.keys import INITIATORS_KEY, SESSION_KEY
from paywitness.pytest_plugin.outcomes import mark_scenario
from paywitness.pytest_plugin.seamless import paywitness_baseline, paywitness_probe
from paywitness.run import RunContext
from paywitness.session import DataWatch, RecordingSession, Target
from paywitness.witness import Witness

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = [
    "browser_context_args",
    "browser_type_launch_args",
    "buyer",
    "card",
    "connect_options",
    "paywitness_baseline",
    "paywitness_client_channels",
    "paywitness_data",
    "paywitness_device",
    "paywitness_faults_marker",
    "paywitness_locale",
    "paywitness_probe",
    "paywitness_profile",
    "paywitness_proxy",
    "paywitness_run",
    "paywitness_seed",
    "paywitness_session",
    "paywitness_target",
    "settle_heap",
    "witness",
]

_CHANNELS_KEY = pytest.StashKey[ClientChannels]()


@pytest.fixture(scope="session")
def paywitness_run(pytestconfig: pytest.Config) -> RunContext:
    """The run: output folder, profile, seed and worker of this pytest session."""
    session: RecordingSession = pytestconfig.stash[SESSION_KEY]
    return session.run


@pytest.fixture(scope="session")
def paywitness_profile(paywitness_run: RunContext) -> Profile:
    """The validated target profile of this run."""
    return paywitness_run.profile


def settle_heap() -> None:
    """Collect once, then leave what is alive now to the end of the run (`gc.freeze`).

    Once the session is up, nearly everything in memory lives as long as the run: the modules
    (mitmproxy, Playwright, pydantic, the plugin), the proxy and the shop. Python's collector
    still walked all of it in every full collection, and pytest collects several times more as
    it ends; in the permanent generation it is walked no more. A one-purchase demo run cost
    5.63 s of CPU instead of 6.09 (5 interleaved pairs, 2026-11-29). Garbage is collected
    first, so nothing that could be freed now is kept. A frozen object that becomes garbage
    later is still freed by its reference count; only one caught in a reference cycle stays
    until the process ends, as the run's own objects do anyway."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def paywitness_session(pytestconfig: pytest.Config) -> Iterator[RecordingSession]:
    """The run's recording session: target, intercepting proxy (its CA, one addon chain), ledger."""
    session = pytestconfig.stash[SESSION_KEY]
    try:
        session.start()
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: {e}") from e
    settle_heap()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def paywitness_target(paywitness_session: RecordingSession) -> Target:
    """The target: the built-in demo shop (started once per worker) or the profile's hosts."""
    assert paywitness_session.target is not None
    return paywitness_session.target


@pytest.fixture(scope="session")
def paywitness_proxy(paywitness_session: RecordingSession) -> ProxyRunner | ProxyProcess:
    """The intercepting proxy (mitmproxy, port 0; see --paywitness-proxy) running the chain."""
    assert paywitness_session.proxy is not None
    return paywitness_session.proxy


@pytest.fixture(autouse=True)
def paywitness_faults_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Apply `@pytest.mark.faults(RULE, ...)` to the running proxy for this test only."""
    rules_text = [r for m in request.node.iter_markers("faults") for r in m.args]
    if not rules_text:
        yield
        return
    from paywitness.faults import parse_fault_rules

    try:
        rules = parse_fault_rules(rules_text)
    except ValueError as e:
        pytest.fail(f"paywitness: @pytest.mark.faults: {e}", pytrace=False)
    # Chosen at run time: only a test with the marker needs the proxy for it.
    session: RecordingSession = request.getfixturevalue("paywitness_session")
    session.set_test_faults(rules)
    try:
        yield
    finally:
        session.set_test_faults(None)


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any],
    browser_name: str | None,
    paywitness_session: RecordingSession,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """pytest-playwright's launch args plus our proxy, CA trust and a quiet Chromium."""
    args: dict[str, Any] = {
        **browser_type_launch_args,
        "proxy": {"server": paywitness_session.proxy_url},
    }
    if browser_name in (None, "chromium"):
        extra = [
            *CHROMIUM_ARGS,
            # Trust exactly this run's proxy CA (leaf certs share the CA key), nothing else.
            f"--ignore-certificate-errors-spki-list={paywitness_session.ca_spki}",
        ]
        args["args"] = [*args.get("args", []), *extra]
        if "executable_path" not in args and not args.get("channel"):
            try:
                path = find_chromium(
                    pytestconfig.getoption("--paywitness-browser"),
                    headless=launched_headless(args),
                )
            except ConfigError as e:
                raise pytest.UsageError(f"paywitness: {e}") from e
            if path is not None:
                args["executable_path"] = str(path)
    return args


@pytest.fixture(scope="session")
def connect_options(
    connect_options: dict[str, Any] | None, pytestconfig: pytest.Config
) -> dict[str, Any] | None:
    """pytest-playwright's remote-browser seam, set by --paywitness-connect ws://HOST:PORT/PATH."""
    url = pytestconfig.getoption("--paywitness-connect")
    if not url:
        return connect_options
    if not str(url).startswith(("ws://", "wss://")):
        raise pytest.UsageError(
            f"paywitness: --paywitness-connect {url!r} is not a ws:// or wss:// endpoint "
            "(start one with `playwright launch-server --browser chromium --config FILE`)"
        )
    return {**(connect_options or {}), "endpoint": url}


@pytest.fixture(scope="session")
def browser_context_args(
    browser_context_args: dict[str, Any],
    browser_name: str | None,
    connect_options: dict[str, Any] | None,
    paywitness_session: RecordingSession,
) -> dict[str, Any]:
    """pytest-playwright's context args. A remote browser was launched by someone else, so
    the proxy goes on each context and, without our SPKI flag, its certificates are accepted
    (run.json says so); Firefox/WebKit cannot take an SPKI list either."""
    args = {**browser_context_args}
    if connect_options:
        args["proxy"] = {"server": paywitness_session.proxy_url}
        args["ignore_https_errors"] = True
    elif browser_name not in (None, "chromium"):
        args["ignore_https_errors"] = True
    return args


@pytest.fixture
def paywitness_device() -> str:
    """The emulated device (`desktop` or a Playwright device name); see --paywitness-device."""
    return DESKTOP


@pytest.fixture
def paywitness_locale() -> str:
    """The browser locale of this scenario; see --paywitness-locale."""
    return "id-ID"


@pytest.fixture
def paywitness_seed(paywitness_run: RunContext, request: pytest.FixtureRequest) -> int:
    """This test's seed: the run seed mixed with the test id, so a failure reproduces."""
    return (paywitness_run.seed * 1_000_003 + zlib.crc32(request.node.nodeid.encode())) % 2**31


@pytest.fixture
def buyer(paywitness_seed: int) -> Buyer:
    """A seeded Faker id_ID buyer whose values are this test's canaries."""
    from paywitness.buyers import make_buyer

    return make_buyer(paywitness_seed)


@pytest.fixture
def card(paywitness_seed: int) -> TestCard:
    """A seeded, Luhn-valid test card that the demo gateway approves."""
    from paywitness.buyers import make_card

    return make_card(paywitness_seed, "success")


def _fixture_canaries(
    request: pytest.FixtureRequest, session: RecordingSession
) -> CanarySet | None:
    """The canaries of the `buyer`/`card` this test asked for (chosen at run time: a test
    that asked for neither planted nothing, and must not pass data separation as if it had)."""
    canaries: list[Canary] = []
    seed = None
    if "buyer" in request.fixturenames:
        test_buyer: Buyer = request.getfixturevalue("buyer")
        seed = test_buyer.seed
        canaries += CanarySet.from_buyer(test_buyer).canaries
    if "card" in request.fixturenames:
        canaries.append(Canary("card", request.getfixturevalue("card").number))
    if not canaries:
        return None
    return session.register_canaries(request.node.nodeid, canaries, seed)


@pytest.fixture
def witness(
    paywitness_session: RecordingSession,
    paywitness_capture: StepCapture,
    request: pytest.FixtureRequest,
) -> Iterator[Witness]:
    """This test's witness: label steps, record shown links, judge the test's own flows."""
    mark_scenario(request.node)  # normally done at collection; a witness asked for late too
    session = paywitness_session
    test_id = request.node.nodeid
    data = session.begin_test(test_id, canaries=_fixture_canaries(request, session))
    w = Witness(
        book=session.book,
        profile=session.profile,
        ledger_path=session.run.ledger_path,
        test_id=test_id,
        seed=session.run.seed,
    )
    w.categories = tuple(
        str(m.args[0]) for m in request.node.iter_markers("paywitness_category") if m.args
    )
    # The same observers as witness browser mode (`paywitness.browser_observers`).
    observers = BrowserObservers(session.book, data.scan, paywitness_capture)
    request.node.stash[_CHANNELS_KEY] = observers.channels
    request.node.stash[INITIATORS_KEY] = observers.initiators
    w.step_hooks += observers.step_hooks  # a screenshot, then browser storage, as each step ends
    w.plant_hooks.append(data.plant)
    # Every browser context of this test, made before or after this point: traced, its
    # client channels observed, and what the browser itself requested recorded (coverage).
    contexts = browser_contexts(request.node)
    contexts.on_context(lambda c: observers.add_context(c, screencast=contexts.screencast))
    contexts.before_close(observers.before_close)  # storage, then traces, before they close
    try:
        yield w
    finally:
        contexts.close()
        session.end_test()


@pytest.fixture
def paywitness_data(witness: Witness, paywitness_session: RecordingSession) -> DataWatch:
    """This test's canaries, searched in all traffic from setup until teardown."""
    assert paywitness_session.data is not None
    return paywitness_session.data


@pytest.fixture
def paywitness_client_channels(witness: Witness, request: pytest.FixtureRequest) -> ClientChannels:
    """This test's browser-side observer: postMessage, sendBeacon, storage and cookies."""
    channels: ClientChannels = request.node.stash[_CHANNELS_KEY]
    return channels
