"""Fixtures of the paywitness pytest plugin (registered by `paywitness.plugin`).

Layered like pytest-playwright: session settings (`paywitness_run`, `paywitness_profile`), the
expensive services started once per worker (`paywitness_target`, `paywitness_proxy`), then
per-test handles (`witness`, `buyer`, `card`). The proxy joins pytest-playwright's own seam:
`browser_type_launch_args` gains `proxy`, the trusted CA and the quiet-browser flags.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paywitness.browser import CHROMIUM_ARGS, find_chromium
from paywitness.classify import Classifier
from paywitness.combinations import DESKTOP
from paywitness.errors import ConfigError
from paywitness.ledger import LedgerWriter
from paywitness.plugin import RUN_KEY, ensure_output, mark_scenario
from paywitness.profile import Profile
from paywitness.proxy import ProxyRunner
from paywitness.run import RunContext
from paywitness.seamless.fixtures import paywitness_baseline, paywitness_probe
from paywitness.witness import Witness
from proxy_addons.artefact_watch import ArtefactWatch
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.canary_watch import CanaryWatch
from proxy_addons.fault_injector import FaultInjector
from proxy_addons.har_capture import HarCapture
from proxy_addons.host_map import HostMap

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard
    from paywitness.client_channels import ClientChannels
    from paywitness.data_watch import DataWatch
    from paywitness.demo import DemoShop
    from paywitness.evidence.capture import StepCapture

__all__ = [
    "Target",
    "browser_context_args",
    "browser_type_launch_args",
    "buyer",
    "card",
    "connect_options",
    "paywitness_baseline",
    "paywitness_device",
    "paywitness_fault_injector",
    "paywitness_faults_marker",
    "paywitness_locale",
    "paywitness_probe",
    "paywitness_profile",
    "paywitness_proxy",
    "paywitness_recorder",
    "paywitness_run",
    "paywitness_seed",
    "paywitness_target",
    "witness",
]


@dataclass
class Target:
    """The system under test as the proxy needs it: host map and upstream trust."""

    host_map: list[str] = field(default_factory=list)
    block_unmapped: bool = False
    upstream_ca: Path | None = None
    demo: DemoShop | None = None


@pytest.fixture(scope="session")
def paywitness_run(pytestconfig: pytest.Config) -> RunContext:
    """The run: output folder, profile, seed and worker of this pytest session."""
    return pytestconfig.stash[RUN_KEY]


@pytest.fixture(scope="session")
def paywitness_profile(paywitness_run: RunContext) -> Profile:
    """The validated target profile of this run."""
    return paywitness_run.profile


@pytest.fixture(scope="session")
def paywitness_target(
    paywitness_run: RunContext,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Target]:
    """The target: the built-in demo shop (started here, once per worker) or the profile's."""
    if not paywitness_run.demo:
        from paywitness.target import host_overrides

        resolve = request.config.getoption("--paywitness-resolve")
        try:
            overrides = host_overrides(paywitness_run.profile, resolve)
        except ConfigError as e:
            raise pytest.UsageError(f"paywitness: {e}") from e
        yield Target(host_map=overrides)
        return
    from paywitness.demo import DemoShop

    shop = DemoShop(
        violations=paywitness_run.violations,
        baseline=paywitness_run.baseline,
        data_dir=tmp_path_factory.mktemp("demo-shop"),
    )
    try:
        shop.start()
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: the demo shop could not start: {e}") from e
    try:
        yield Target(
            host_map=[f"{host}={url}" for host, url in sorted(shop.host_map.items())],
            block_unmapped=True,  # the demo never lets the browser reach beyond loopback
            upstream_ca=shop.ca_cert_path,
            demo=shop,
        )
    finally:
        shop.stop()


@pytest.fixture(scope="session")
def paywitness_recorder(paywitness_run: RunContext) -> Iterator[BackendRecorder]:
    """The backend recorder writing this worker's ledger."""
    ensure_output(paywitness_run)
    ledger = LedgerWriter(paywitness_run.ledger_path)
    recorder = BackendRecorder(
        classifier=Classifier(paywitness_run.profile), ledger=ledger, worker=paywitness_run.worker
    )
    try:
        yield recorder
    finally:
        ledger.close()


@pytest.fixture(scope="session")
def paywitness_fault_injector(paywitness_run: RunContext) -> FaultInjector:
    """The proxy's fault injector: the profile's `faults` and the demo violations' own."""
    from paywitness.faults import parse_fault_rules

    texts = list(paywitness_run.profile.faults)
    if paywitness_run.violations:
        from paywitness.demo.violations import get_violation

        texts += [f for v in paywitness_run.violations for f in get_violation(v).faults]
    return FaultInjector(
        classifier=Classifier(paywitness_run.profile), rules=parse_fault_rules(texts)
    )


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
    injector: FaultInjector = request.getfixturevalue("paywitness_fault_injector")
    injector.set_test_rules(rules)
    try:
        yield
    finally:
        injector.clear_test_rules()


@pytest.fixture(scope="session")
def paywitness_proxy(
    paywitness_target: Target,
    paywitness_recorder: BackendRecorder,
    paywitness_har_capture: HarCapture,
    paywitness_canary_watch: CanaryWatch,
    paywitness_fault_injector: FaultInjector,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProxyRunner]:
    """The intercepting proxy (mitmproxy in-process, port 0) with the recorder and host map."""
    options: dict[str, Any] = {
        "paywitness_host_map": paywitness_target.host_map,
        "paywitness_block_unmapped": paywitness_target.block_unmapped,
    }
    if paywitness_target.upstream_ca is not None:
        options["ssl_verify_upstream_trusted_ca"] = str(paywitness_target.upstream_ca)
    # The CA is made per run in a private confdir: nothing is installed system-wide.
    proxy = ProxyRunner(
        # The injector first (the recorder then sees the fault it injected), then the canary
        # watch (the recorder puts its hits into each record).
        [
            paywitness_fault_injector,
            paywitness_canary_watch,
            ArtefactWatch(paywitness_recorder.classifier),  # before the recorder: its facts
            paywitness_recorder,
            HostMap(),
            paywitness_har_capture,
        ],
        confdir=tmp_path_factory.mktemp("proxy-ca"),
        options=options,
    )
    try:
        proxy.start()
    except ConfigError as e:
        raise pytest.UsageError(f"paywitness: {e}") from e
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any],
    browser_name: str | None,
    paywitness_proxy: ProxyRunner,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """pytest-playwright's launch args plus our proxy, CA trust and a quiet Chromium."""
    args: dict[str, Any] = {**browser_type_launch_args, "proxy": {"server": paywitness_proxy.url}}
    if browser_name in (None, "chromium"):
        extra = [
            *CHROMIUM_ARGS,
            # Trust exactly this run's proxy CA (leaf certs share the CA key), nothing else.
            f"--ignore-certificate-errors-spki-list={paywitness_proxy.ca_spki}",
        ]
        args["args"] = [*args.get("args", []), *extra]
        if "executable_path" not in args and not args.get("channel"):
            try:
                path = find_chromium(pytestconfig.getoption("--paywitness-browser"))
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
    paywitness_proxy: ProxyRunner,
) -> dict[str, Any]:
    """pytest-playwright's context args. A remote browser was launched by someone else, so
    the proxy goes on each context and, without our SPKI flag, its certificates are accepted
    (run.json says so); Firefox/WebKit cannot take an SPKI list either."""
    args = {**browser_context_args}
    if connect_options:
        args["proxy"] = {"server": paywitness_proxy.url}
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


@pytest.fixture
def witness(
    paywitness_recorder: BackendRecorder,
    paywitness_proxy: ProxyRunner,
    paywitness_run: RunContext,
    paywitness_seed: int,
    paywitness_capture: StepCapture,
    paywitness_data: DataWatch,
    paywitness_client_channels: ClientChannels,
    request: pytest.FixtureRequest,
) -> Iterator[Witness]:
    """This test's witness: label steps, record shown links, judge the test's own flows."""
    mark_scenario(request.node)  # normally done at collection; a witness asked for late too
    paywitness_recorder.test = request.node.nodeid
    w = Witness(
        recorder=paywitness_recorder,
        profile=paywitness_run.profile,
        ledger_path=paywitness_run.ledger_path,
        test_id=request.node.nodeid,
        seed=paywitness_run.seed,
    )
    w.categories = tuple(
        str(m.args[0]) for m in request.node.iter_markers("paywitness_category") if m.args
    )
    w.step_hooks.append(paywitness_capture.step_hook)  # a screenshot as each step ends
    w.step_hooks.append(paywitness_client_channels.step_hook)  # browser storage as it ends
    w.plant_hooks.append(paywitness_data.plant)
    if "context" in request.fixturenames:
        # What the browser itself requested, to compare with what the proxy saw (coverage).
        from paywitness.coverage import ClientWatch

        ClientWatch(paywitness_recorder).watch(request.getfixturevalue("context"))
    try:
        yield w
    finally:
        paywitness_recorder.set_step("unlabelled")
        paywitness_recorder.test = None
