"""The recording session: the engine's one run object, without pytest.

A `RecordingSession` owns everything one worker of a run records with: the target (the built-in
demo shop, or the profile's hosts), the intercepting proxy with its CA and its one addon chain,
the record book and ledger, the redactor and the canaries. Its drivers — the pytest plugin,
`paywitness witness`, `paywitness run`/`demo` (through the plugin) and the benchmarks — only
call it::

    session = RecordingSession(run)
    session.start()                       # demo shop (if any), proxy, ledger
    session.begin_test("t1", canaries=...) # records belong to t1, its canaries are searched
    session.set_step("checkout")           # a mark, and the label of the flows from now on
    session.note("client", url, ...)       # every record the proxy does not make itself
    session.end_test("passed")
    session.stop()
    result = session.finish()              # the verdict, decided once; the bundle; exit code

The addon chain, in order: [a driver's control page,] fault injector (so the recorder sees the
fault it injected), canary and artefact watches (the recorder puts their hits into each record),
backend recorder, host map, HAR capture, and in witness mode TLS failures. Addons pass per-flow
results on through `flow.metadata`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paywitness.analysers.data import PLANT_METHOD
from paywitness.canaries import Canary, CanaryHit, CanarySet
from paywitness.chain import addon_chain
from paywitness.classify import Classifier
from paywitness.errors import ConfigError
from paywitness.evidence.har import har_entries_path
from paywitness.evidence.redaction import CANARIES_FILE, Redactor
from paywitness.evidence.runmeta import save_ca_cert
from paywitness.faults import FaultRule, parse_fault_rules
from paywitness.ledger import FlowRecord, LedgerWriter, RecordKind
from paywitness.proxy import ProxyRunner
from paywitness.records import UNLABELLED, RecordBook
from paywitness.run import Outcomes, RunContext, ensure_writable, update_latest_link
from paywitness.verdict import Verdict, exit_code_for
from proxy_addons.canary_watch import CanaryWatch
from proxy_addons.fault_injector import FaultInjector

if TYPE_CHECKING:
    from paywitness.demo import DemoShop
    from paywitness.proxy_process import ProxyProcess

__all__ = ["DataWatch", "Outcomes", "RecordingSession", "RunResult", "Scorecard", "Target"]


@dataclass
class Target:
    """The system under test as the proxy needs it: host map and upstream trust."""

    host_map: list[str] = field(default_factory=list)
    block_unmapped: bool = False
    upstream_ca: Path | None = None
    demo: DemoShop | None = None


@dataclass(frozen=True)
class Scorecard:
    """The migration scorecard (`scorecard.json`): weighted progress, seamless gate, CI gate."""

    verdict: str | None
    progress: float
    weighted_coverage: float
    seamless_gate: str
    gate: Mapping[str, Any] | None
    categories: Mapping[str, Mapping[str, Any]]
    data: Mapping[str, Any]

    @classmethod
    def from_dict(cls, card: Mapping[str, Any]) -> Scorecard:
        return cls(
            verdict=card.get("verdict"),
            progress=float(card.get("progress") or 0.0),
            weighted_coverage=float(card.get("weighted_coverage") or 0.0),
            seamless_gate=str(card.get("seamless_gate") or "not_judged"),
            gate=card.get("gate"),
            categories=card.get("categories") or {},
            data=card,
        )

    @property
    def gate_result(self) -> str | None:
        return str(self.gate["result"]) if self.gate else None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class RunResult:
    """What `finish` decided: the verdict (None: nothing was recorded), scorecard, bundle."""

    verdict: Verdict | None
    scorecard: Scorecard | None
    bundle: Path
    exit_code: int
    #: Why the bundle could not be finished (the verdict stands; verdict.json is written).
    bundle_error: str | None = None


class DataWatch:
    """One test's canaries: planted in the ledger, masked in the bundle, searched by the proxy.

    The ledger gets a `plant` record (method `PLANT`, role `paywitness`) listing the kinds and
    salted hashes of what was planted, never the values: the data analyser needs to know that
    something was planted before "nothing leaked" can mean a pass.
    """

    def __init__(
        self,
        *,
        book: RecordBook,
        watch: CanaryWatch,
        redactor: Redactor,
        canaries_file: Path,
        test_id: str,
        worker: str,
    ) -> None:
        self.book = book
        self.watch = watch
        self.redactor = redactor
        self.canaries_file = canaries_file
        self.test_id = test_id
        self.worker = worker
        self.canaries = CanarySet((), redactor.salt)

    def start(self, initial: CanarySet | None) -> None:
        """Search for the test's fixture canaries (registered with the redactor already)."""
        if initial is not None and initial.canaries:
            self.canaries = initial
            self.watch.set_canaries(initial)
            self._write_plant(initial)

    def plant(self, canaries: Iterable[Canary]) -> None:
        """Add values the test made itself (e.g. the card of a payment method), from now on."""
        new = [c for c in canaries if c not in self.canaries.canaries]
        if not new:
            return
        added = self.redactor.add_canaries(new)
        if added.canaries:
            self.redactor.write_canaries(
                self.canaries_file, added, test=self.test_id, worker=self.worker
            )
        self.canaries = CanarySet(
            (*self.canaries.canaries, *new), self.redactor.salt, self.canaries.seed
        )
        self.watch.set_canaries(self.canaries)
        self._write_plant(CanarySet(tuple(new), self.redactor.salt, self.canaries.seed))

    def stop(self) -> None:
        """Search for nothing until the next test plants its own canaries."""
        self.watch.set_canaries(None)

    def scan(self, data: str, location: str) -> list[CanaryHit]:
        """The active canaries in data observed outside the proxy."""
        return self.watch.scan(data, location)

    def _write_plant(self, canaries: CanarySet) -> None:
        self.book.note(
            "plant",
            method=PLANT_METHOD,
            role="paywitness",
            rule="planted-canaries",
            test=self.test_id,
            extra={"planted": canaries.manifest()["canaries"]},
        )


class RecordingSession:
    """One worker's recording of a run; see the module docstring for the life cycle."""

    def __init__(
        self,
        run: RunContext,
        *,
        target: Target | None = None,
        resolve: Sequence[str] = (),
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        proxyauth: str | None = None,
        control: object | None = None,
        faults: Iterable[str] | None = None,
        proxy_options: Mapping[str, Any] | None = None,
        update_latest: bool = False,
        record_tls_failures: bool = False,
        own_process: bool = False,
    ) -> None:
        """`target`: where the proxy sends the browser (default: the demo shop this session
        starts, or the profile's hosts with `resolve`); `control`: a driver's own addon, first in
        the chain (witness mode's control page); `faults`: the run's fault rules (default: the
        profile's and the demo violations'); `proxy_options`: more mitmproxy options;
        `record_tls_failures`: a refused client handshake leaves a `tls` record (witness mode);
        `own_process`: mitmproxy and the ledger writer run in a child process, off the GIL of
        the test that drives the browser (the control page, an object, needs the same one)."""
        if own_process and control is not None:
            raise ValueError("a control addon runs in the session's own process")
        self.run = run
        self.profile = run.profile
        self.classifier = Classifier(run.profile)  # the run's one classifier
        self.redactor = Redactor()
        self.resolve = list(resolve)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.proxyauth = proxyauth
        self.update_latest = update_latest
        self._control = control
        self.record_tls_failures = record_tls_failures
        self._given_target = target
        self._proxy_options = dict(proxy_options or {})
        self.own_process = own_process
        self._fault_texts = list(faults) if faults is not None else self._default_faults()
        self.book = RecordBook(
            classifier=self.classifier,
            worker=run.worker,
            mask_text=self.redactor.text,
            planted=self.redactor.planted_values,
        )
        self.canary_watch = CanaryWatch()
        self.injector = FaultInjector(classifier=self.classifier)
        self.target: Target | None = None
        self.proxy: ProxyRunner | ProxyProcess | None = None
        self.data: DataWatch | None = None
        self.outcomes = Outcomes()
        self._ledger: LedgerWriter | None = None
        self._tmp: Path | None = None
        self._shop: DemoShop | None = None

    def _default_faults(self) -> list[str]:
        """The profile's faults and those of the demo violations asked for."""
        texts = list(self.profile.faults)
        if self.run.violations:
            from paywitness.demo.violations import get_violation

            texts += [f for v in self.run.violations for f in get_violation(v).faults]
        return texts

    @property
    def run_faults(self) -> tuple[str, ...]:
        """The fault rules injected through the whole run (a test's own marker rules aside)."""
        return tuple(self._fault_texts)

    # -- life cycle -----------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.proxy is not None

    @property
    def tmp_dir(self) -> Path:
        """Private scratch space of this session (the CA key lives here; removed on stop)."""
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="paywitness-session-"))
        return self._tmp

    def start(self) -> None:
        """Target, ledger, proxy; ConfigError (nothing left running) if anything cannot start."""
        if self.proxy is not None:
            return
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        ensure_writable(self.run.output)
        try:
            self.injector.set_rules(parse_fault_rules(self._fault_texts))
        except ValueError as e:
            raise ConfigError(f"fault rules: {e}") from e
        self.target = self._given_target or self._start_target()
        options: dict[str, Any] = {
            **self._proxy_options,
            "paywitness_host_map": self.target.host_map,
            "paywitness_block_unmapped": self.target.block_unmapped,
        }
        if self.target.upstream_ca is not None:
            options["ssl_verify_upstream_trusted_ca"] = str(self.target.upstream_ca)
        if self.proxyauth is not None:
            options["proxyauth"] = self.proxyauth
        if self.own_process:
            self._start_process(options)
        else:
            self._start_in_process(options)
        assert self.proxy is not None
        save_ca_cert(self.run.output, self.run.worker, self.proxy.ca_cert_path)

    def _start_process(self, options: dict[str, Any]) -> None:
        from paywitness.proxy_process import (
            ProxyProcess,
            ProxySpec,
            RemoteBook,
            RemoteCanaryWatch,
        )

        run = self.run
        proc = ProxyProcess(
            ProxySpec(
                profile_path=run.profile_path,
                output=run.output,
                worker=run.worker,
                ledger_path=run.ledger_path,
                har_path=har_entries_path(run.output, run.worker),
                confdir=self.tmp_dir / "proxy-ca",
                salt=self.redactor.salt,
                options=options,
                faults=tuple(self._fault_texts),
                listen_host=self.listen_host,
                listen_port=self.listen_port,
                record_tls_failures=self.record_tls_failures,
            )
        )
        proc.start()
        self.proxy = proc
        self.book = RemoteBook(
            proc,
            classifier=self.classifier,
            worker=run.worker,
            mask_text=self.redactor.text,
            planted=self.redactor.planted_values,
        )
        self.canary_watch = RemoteCanaryWatch(proc)

    def _start_in_process(self, options: dict[str, Any]) -> None:
        self._ledger = LedgerWriter(self.run.ledger_path)
        self.book.ledger = self._ledger
        addons: list[Any] = [self._control] if self._control is not None else []
        addons += addon_chain(
            book=self.book,
            classifier=self.classifier,
            redactor=self.redactor,
            canary_watch=self.canary_watch,
            injector=self.injector,
            har_path=har_entries_path(self.run.output, self.run.worker),
            record_tls_failures=self.record_tls_failures,
        )
        proxy = ProxyRunner(
            addons,
            confdir=self.tmp_dir / "proxy-ca",  # the CA key never leaves this private folder
            listen_host=self.listen_host,
            listen_port=self.listen_port,
            options=options,
        )
        proxy.start()
        self.proxy = proxy

    def _start_target(self) -> Target:
        if not self.run.demo:
            from paywitness.target import host_overrides

            return Target(host_map=host_overrides(self.profile, self.resolve))
        from paywitness.demo import DemoShop

        shop = DemoShop(
            violations=self.run.violations,
            baseline=self.run.baseline,
            data_dir=self.tmp_dir / "demo-shop",
        )
        try:
            shop.start()
        except ConfigError as e:
            raise ConfigError(f"the demo shop could not start: {e}") from e
        self._shop = shop
        return Target(
            host_map=[f"{host}={url}" for host, url in sorted(shop.host_map.items())],
            block_unmapped=True,  # the demo never lets the browser reach beyond loopback
            upstream_ca=shop.ca_cert_path,
            demo=shop,
        )

    def stop(self) -> None:
        """Stop the proxy, then the demo shop; close the ledger last (idempotent)."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self._shop is not None:
            self._shop.stop()
            self._shop = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RecordingSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the proxy as a browser sees it -----------------------------------------------------------
    def _running(self) -> ProxyRunner | ProxyProcess:
        if self.proxy is None:
            raise RuntimeError("the recording session is not started")
        return self.proxy

    @property
    def proxy_url(self) -> str:
        return self._running().url

    @property
    def proxy_port(self) -> int:
        port = self._running().port
        assert port is not None
        return port

    @property
    def ca_spki(self) -> str:
        return self._running().ca_spki

    @property
    def ca_cert_path(self) -> Path:
        return self._running().ca_cert_path

    # -- tests and steps --------------------------------------------------------------------------
    def register_canaries(
        self, test_id: str, canaries: Sequence[Canary], seed: int | None
    ) -> CanarySet:
        """Mask these values in everything written (and note them in the bundle's canary file)."""
        added = self.redactor.add_canaries(canaries)
        if self.own_process and self.proxy is not None:
            from paywitness.proxy_process import ProxyProcess, add_canaries_remote

            assert isinstance(self.proxy, ProxyProcess)
            add_canaries_remote(self.proxy, canaries)
        self.redactor.write_canaries(
            self.run.output / CANARIES_FILE, added, test=test_id, worker=self.run.worker
        )
        return CanarySet(tuple(canaries), self.redactor.salt, seed)

    def begin_test(self, test_id: str, *, canaries: CanarySet | None = None) -> DataWatch:
        """Records belong to `test_id` from now on; its canaries are searched in all traffic."""
        if self.data is not None:
            self.data.stop()
        self.data = DataWatch(
            book=self.book,
            watch=self.canary_watch,
            redactor=self.redactor,
            canaries_file=self.run.output / CANARIES_FILE,
            test_id=test_id,
            worker=self.run.worker,
        )
        self.data.start(canaries)
        if self._shop is not None:
            self._shop.restock()  # reset per test, as the shop starts once per session
        self.book.begin_test(test_id)
        return self.data

    def end_test(self, outcome: str | None = None) -> None:
        """The test is over: search for nothing, label nothing; remember how it ended."""
        test_id = self.book.test
        if self.data is not None:
            self.data.stop()
            self.data = None
        self.book.set_step(UNLABELLED)
        self.book.begin_test(None)
        if outcome is not None and test_id is not None:
            self.outcomes.scenarios[test_id] = outcome

    def set_test_faults(self, rules: Sequence[FaultRule] | None) -> None:
        """Fault rules for the current test only, on top of the run's (None: clear them)."""
        if self.own_process and self.proxy is not None:
            from paywitness.proxy_process import ProxyProcess, set_test_faults_remote

            assert isinstance(self.proxy, ProxyProcess)
            set_test_faults_remote(self.proxy, rules)
        elif rules:
            self.injector.set_test_rules(rules)
        else:
            self.injector.clear_test_rules()

    def set_step(self, step: str, *, source: str = "api") -> None:
        """Label the flows that start from now on; the change itself is recorded as a mark."""
        self.book.set_step(step, source=source)

    def note(self, kind: RecordKind, url: str = "", **facts: Any) -> FlowRecord:
        """Stamp (time, test, step), classify, mask and write a record the proxy did not make."""
        return self.book.note(kind, url, **facts)

    def scan(self, data: str, location: str) -> list[CanaryHit]:
        """The current test's canaries in data observed outside the proxy."""
        return self.canary_watch.scan(data, location)

    # -- judgement --------------------------------------------------------------------------------
    def finish(
        self,
        outcomes: Outcomes | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
        bundle_meta: Mapping[str, Any] | None = None,
        before_manifest: Callable[[dict[str, Any]], None] | None = None,
    ) -> RunResult:
        """Judge every ledger of the run once, write verdict.json and finish the bundle.

        `meta` goes into the verdict and run.json, `bundle_meta` into run.json only. A run that
        recorded nothing has no verdict (inconclusive, exit 3) and leaves no bundle.
        """
        from paywitness.evidence.bundle import finalize_bundle

        if outcomes is None and self.outcomes.scenarios:
            outcomes = self.outcomes
        verdict = self.run.judge_and_write(
            {**(outcomes.meta() if outcomes is not None else {}), **(meta or {})},
            unfinished=outcomes.unfinished() if outcomes is not None else [],
            classifier=self.classifier,
        )
        if verdict is None:
            return RunResult(None, None, self.run.output, exit_code_for("inconclusive"))
        if self.update_latest:
            update_latest_link(self.run.output)
        try:
            card = Scorecard.from_dict(
                finalize_bundle(
                    self.run,
                    {**(meta or {}), **(bundle_meta or {})},
                    verdict=verdict.to_dict(),
                    before_manifest=before_manifest,
                )
            )
        except (OSError, ValueError) as e:  # a bundle that cannot be finished keeps its verdict
            code = exit_code_for(verdict.verdict)
            return RunResult(verdict, None, self.run.output, code, bundle_error=str(e))
        code = exit_code_for(verdict.verdict, gate=card.gate_result)
        return RunResult(verdict, card, self.run.output, code)
