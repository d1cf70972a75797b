"""One witnessed run without pytest: demo shop, proxy, recorder, canaries, judgement, bundle.

Mirrors the automated run's wiring (`paywitness.pytest_fixtures`) so that a witness run writes
the same ledger, the same evidence bundle and the same verdict.
"""

from __future__ import annotations

import random
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from paywitness.buyers import Buyer, TestCard, make_buyer, make_card
from paywitness.canaries import CanarySet
from paywitness.classify import Classifier
from paywitness.data_watch import DataWatch
from paywitness.errors import ConfigError
from paywitness.evidence.har import har_entries_path
from paywitness.evidence.redaction import CANARIES_FILE, Redactor
from paywitness.evidence.runmeta import save_ca_cert
from paywitness.ledger import LedgerWriter, read_ledger
from paywitness.profile import Profile, demo_profile_path, load_profile
from paywitness.proxy import ProxyRunner, is_loopback
from paywitness.run import RunContext, default_output_dir, ensure_writable, update_latest_link
from paywitness.verdict import Verdict, exit_code_for
from paywitness.witness_mode.ca import ca_name, write_run_ca
from paywitness.witness_mode.checklist import render_checklist
from paywitness.witness_mode.control import ControlPage
from proxy_addons.backend_recorder import STEP_NAME, BackendRecorder
from proxy_addons.canary_watch import CanaryWatch
from proxy_addons.har_capture import HarCapture
from proxy_addons.host_map import HostMap
from proxy_addons.tls_failures import TlsFailures

__all__ = ["PROXY_USER", "STEPS", "WitnessOptions", "WitnessSession"]

# The standard steps, the storefront tabs (Shop, Orders) included: the ministry read both.
STEPS = ("browse", "checkout", "pay", "confirm", "shop", "orders")
PROXY_USER = "paywitness"
_TEST_ID = "witness"


@dataclass(frozen=True)
class WitnessOptions:
    """What `paywitness witness` was asked to do."""

    profile_path: Path | None = None
    demo: bool = False
    violations: tuple[str, ...] = ()
    phone: bool = False
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    output: Path | None = None
    seed: int | None = None
    browser: str | None = None
    headless: bool = False
    max_minutes: float = 120.0

    @property
    def needs_auth(self) -> bool:
        """Phone mode always authenticates; so does any listener beyond loopback."""
        return self.phone or not is_loopback(self.listen_host)


@dataclass
class _Printer:
    out: TextIO
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, text: str) -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()


class WitnessSession:
    """Start everything a person needs to pay by hand; judge and write the bundle at the end."""

    def __init__(self, options: WitnessOptions, out: TextIO) -> None:
        self.options = options
        self.print = _Printer(out)
        if options.violations and not options.demo:
            raise ConfigError(
                "--violation changes the built-in demo shop; add --demo or leave it out"
            )
        if options.demo:
            from paywitness.demo.violations import get_violation

            for v in options.violations:
                get_violation(v)
        if options.profile_path is None and not options.demo:
            raise ConfigError("pass --profile PATH (a target profile) or --demo")
        self.profile_path = options.profile_path or demo_profile_path()
        self.profile: Profile = load_profile(self.profile_path)
        self.seed = (
            options.seed if options.seed is not None else random.SystemRandom().randrange(1, 10**9)
        )
        self.output = (options.output or default_output_dir()).resolve()
        ensure_writable(self.output)
        self.run = RunContext(
            output=self.output,
            profile=self.profile,
            profile_path=self.profile_path,
            seed=self.seed,
            demo=options.demo,
            violations=options.violations,
        )
        self.buyer: Buyer = make_buyer(self.seed)
        self.card: TestCard = make_card(self.seed, "success")
        self.canaries = CanarySet.from_buyer(self.buyer, self.card)
        self.password = secrets.token_urlsafe(12) if options.needs_auth else None
        self.ca_name = ca_name()  # the name a person looks for to remove the certificate
        self.steps: list[str] = []
        self.finished = threading.Event()
        self.finish_source: str | None = None
        self.on_mark: list[Callable[[str], None]] = []
        self._mark_lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="paywitness-witness-"))
        self._shop: Any = None
        self._ledger: LedgerWriter | None = None
        self.recorder: BackendRecorder | None = None
        self.proxy: ProxyRunner | None = None
        self.control: ControlPage | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def start_url(self) -> str:
        hints = self.profile.flow
        return (hints.start_url if hints and hints.start_url else None) or self.profile.start_url

    def start(self) -> None:
        """Demo shop (if asked), recorder, proxy; ConfigError if anything cannot start."""
        try:
            self._start()
        except BaseException:
            self.stop_services()
            raise

    def _start(self) -> None:
        host_map: list[str] = []
        options: dict[str, Any] = {}
        if self.options.demo:
            from paywitness.demo import DemoShop

            self._shop = DemoShop(violations=self.options.violations, data_dir=self._tmp / "demo")
            self._shop.start()
            host_map = [f"{h}={u}" for h, u in sorted(self._shop.host_map.items())]
            options["ssl_verify_upstream_trusted_ca"] = str(self._shop.ca_cert_path)
        options["paywitness_host_map"] = host_map
        # The demo never lets a phone or browser reach beyond loopback through the proxy.
        options["paywitness_block_unmapped"] = self.options.demo
        if self.password is not None:
            options["proxyauth"] = f"{PROXY_USER}:{self.password}"
        redactor = Redactor()
        added = redactor.add_canaries(self.canaries.canaries)
        redactor.write_canaries(
            self.output / CANARIES_FILE, added, test=_TEST_ID, worker=self.run.worker
        )
        self._ledger = LedgerWriter(self.run.ledger_path)
        self.recorder = BackendRecorder(
            classifier=Classifier(self.profile), ledger=self._ledger, worker=self.run.worker
        )
        self.recorder.test = _TEST_ID
        self.recorder.mask_text = redactor.text
        har = HarCapture(redactor=redactor, path=har_entries_path(self.output, self.run.worker))
        self.control = control = ControlPage(self)
        # The values the person is told to type are canaries, searched for in every flow.
        watch = CanaryWatch()
        self.data = DataWatch(
            recorder=self.recorder,
            watch=watch,
            redactor=redactor,
            canaries_file=self.output / CANARIES_FILE,
            test_id=_TEST_ID,
            worker=self.run.worker,
        )
        self.data.start(added)
        write_run_ca(self._tmp / "proxy-ca", self.ca_name)  # before mitmproxy makes its own
        self.proxy = ProxyRunner(
            [control, watch, self.recorder, HostMap(), har, TlsFailures(self.recorder)],
            confdir=self._tmp / "proxy-ca",  # the CA key never leaves this temporary folder
            listen_host=self.options.listen_host,
            listen_port=self.options.listen_port,
            options=options,
        )
        self.proxy.start()
        save_ca_cert(self.output, self.run.worker, self.proxy.ca_cert_path)

    @property
    def proxy_port(self) -> int:
        if self.proxy is None or self.proxy.port is None:
            raise RuntimeError("the proxy is not running")
        return self.proxy.port

    @property
    def tmp_dir(self) -> Path:
        """Private scratch space of this run (removed when the services stop)."""
        return self._tmp

    @property
    def ca_spki(self) -> str:
        if self.proxy is None:
            raise RuntimeError("the proxy is not running")
        return self.proxy.ca_spki

    @property
    def ca_cert_path(self) -> Path:
        if self.proxy is None:
            raise RuntimeError("the proxy is not running")
        return self.proxy.ca_cert_path

    def role_of(self, host: str) -> str:
        """The profile's role for a host name (`unknown` before the recorder exists)."""
        if self.recorder is None or self.recorder.classifier is None:
            return "unknown"
        return self.recorder.classifier.role_of(host)[0]

    def stop_services(self) -> None:
        """Stop the proxy and the demo shop (idempotent); the ledger is closed last."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._shop is not None:
            self._shop.stop()
            self._shop = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- steps --------------------------------------------------------------------------------
    def mark(self, step: str, *, source: str) -> None:
        """Label the flows from now on with `step` and print the checklist."""
        if not STEP_NAME.match(step):
            raise ValueError(f"{step!r} is not a step name")
        if self.recorder is None or self.finished.is_set():
            return
        with self._mark_lock:
            self.recorder.set_step(step, source=source)
            self.steps.append(step)
        for hook in self.on_mark:
            hook(step)
        self.print(self.checklist())

    def finish(self, *, source: str) -> None:
        """The person is done: stop waiting (the judgement happens in `close`)."""
        if not self.finished.is_set():
            self.finish_source = source
            self.finished.set()

    def checklist(self) -> str:
        path = self.run.ledger_path
        records = list(read_ledger(path)) if path.exists() else []
        return render_checklist(records, self.profile, self.steps)

    # -- judgement ----------------------------------------------------------------------------
    def close(self, *, mode: str, extra: dict[str, Any] | None = None) -> int:
        """Stop everything, judge with the same analysers, write the bundle; the exit code."""
        from paywitness.evidence.bundle import finalize_bundle
        from paywitness.evidence.gate import exit_code_of_bundle
        from paywitness.witness_mode.handover import final_text, write_scoped_verdict

        self.stop_services()
        meta = {
            "mode": mode,
            "witness": {
                "steps": list(self.steps),
                "finished_by": self.finish_source or "timeout",
                "listen": f"{self.options.listen_host}:{self.options.listen_port}",
                "proxy_auth": self.password is not None,
                "ca": self.ca_name,
                "setup_refused": list(self.control.setup_refused) if self.control else [],
                "refused_during_purchase": dict(self.control.refused) if self.control else {},
            },
        }
        verdict: Verdict | None = self.run.judge_and_write({**meta, **(extra or {})})
        if verdict is None:
            self.print("paywitness: nothing was recorded; the run is inconclusive")
            return exit_code_for("inconclusive")
        write_scoped_verdict(self.output, verdict, mode)  # what this mode cannot observe
        card = finalize_bundle(self.run, {**meta, **(extra or {})})
        if self.options.output is None:
            update_latest_link(self.output)
        code = exit_code_of_bundle(self.output, exit_code_for(verdict.verdict))
        self.print(final_text(verdict, card, code, self.output))
        return code
