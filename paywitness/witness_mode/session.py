"""One witnessed run without pytest: a `RecordingSession` driven by a person's step marks.

The same recording session as the automated run (`paywitness.session`): the same addon chain,
the same ledger, the same evidence bundle and the same verdict. The control page
(`http://paywitness.invalid/`) is the one addon of its own, first in the chain.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from paywitness.buyers import Buyer, TestCard, make_buyer, make_card
from paywitness.canaries import CanarySet
from paywitness.errors import ConfigError
from paywitness.ledger import read_ledger
from paywitness.profile import Profile, demo_profile_path, load_profile
from paywitness.proxy import ProxyRunner, is_loopback
from paywitness.proxy_process import ProxyProcess
from paywitness.records import STEP_NAME
from paywitness.run import RunContext, default_output_dir, ensure_writable
from paywitness.session import RecordingSession
from paywitness.witness_mode.ca import ca_name, write_run_ca
from paywitness.witness_mode.checklist import render_checklist
from paywitness.witness_mode.control import STEPS, ControlPage

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["PROXY_USER", "STEPS", "WitnessOptions", "WitnessSession"]

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
    resolve: tuple[str, ...] = ()  # HOST=URL like curl --resolve (paywitness record)
    #: Signs the bundle's manifest at Finish (--sign > $PAYWITNESS_SIGNING_KEY > profile).
    signing_key: Ed25519PrivateKey | None = field(default=None, repr=False)

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
        self.control = ControlPage(self)
        self.recording = RecordingSession(
            self.run,
            resolve=options.resolve,
            listen_host=options.listen_host,
            listen_port=options.listen_port,
            proxyauth=f"{PROXY_USER}:{self.password}" if self.password is not None else None,
            control=self.control,
            faults=(),  # a person paying by hand is never made to fail on purpose
            update_latest=options.output is None,
            record_tls_failures=True,  # a phone may not trust the run's CA (or pin its own)
        )

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def start_url(self) -> str:
        hints = self.profile.flow
        return (hints.start_url if hints and hints.start_url else None) or self.profile.start_url

    def start(self) -> None:
        """Demo shop (if asked), proxy, ledger; ConfigError if anything cannot start."""
        try:
            # Our own CA where mitmproxy looks for one, so that it is not called "mitmproxy".
            write_run_ca(self.recording.tmp_dir / "proxy-ca", self.ca_name)
            self.recording.start()
            if self.profile.observation.control:  # asked for by the profile: said why not
                from paywitness.control import ControlRun
                from paywitness.scope import MODE_SCOPES

                control = ControlRun(self.recording)
                control.refuse(MODE_SCOPES["witness-browser"].unobservable["observation"])
                control.close()
            # The values the person is told to type are canaries, searched for in every flow.
            canaries = self.recording.register_canaries(_TEST_ID, self.canaries.canaries, None)
            self.recording.begin_test(_TEST_ID, canaries=canaries)
        except BaseException:
            self.stop_services()
            raise

    @property
    def proxy(self) -> ProxyRunner | ProxyProcess | None:
        return self.recording.proxy

    @property
    def proxy_port(self) -> int:
        return self.recording.proxy_port

    @property
    def tmp_dir(self) -> Path:
        """Private scratch space of this run (removed when the services stop)."""
        return self.recording.tmp_dir

    @property
    def ca_spki(self) -> str:
        return self.recording.ca_spki

    @property
    def ca_cert_path(self) -> Path:
        return self.recording.ca_cert_path

    def role_of(self, host: str) -> str:
        """The profile's role for a host name."""
        return self.recording.classifier.role_of(host)[0]

    def stop_services(self) -> None:
        """Stop the proxy and the demo shop (idempotent); the ledger is closed last."""
        self.recording.stop()

    # -- steps --------------------------------------------------------------------------------
    def mark(self, step: str, *, source: str) -> None:
        """Label the flows from now on with `step` and print the checklist."""
        if not STEP_NAME.match(step):
            raise ValueError(f"{step!r} is not a step name")
        if not self.recording.started or self.finished.is_set():
            return
        with self._mark_lock:
            self.recording.set_step(step, source=source)
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
        from paywitness.witness_mode.handover import final_text

        self.stop_services()
        meta = {
            "mode": mode,  # its scope (what it cannot observe) is applied to the verdict
            "witness": {
                "steps": list(self.steps),
                "finished_by": self.finish_source or "timeout",
                "listen": f"{self.options.listen_host}:{self.options.listen_port}",
                "proxy_auth": self.password is not None,
                "ca": self.ca_name,
                "setup_refused": list(self.control.setup_refused),
                "refused_during_purchase": dict(self.control.refused),
            },
            **(extra or {}),
        }
        result = self.recording.finish(meta=meta)
        if result.verdict is None:
            self.print("paywitness: nothing was recorded; the run is inconclusive")
            return result.exit_code
        if result.bundle_error is not None:
            unsigned = " (so it is not signed)" if self.options.signing_key is not None else ""
            self.print(
                f"paywitness: the evidence bundle could not be finished{unsigned}: "
                f"{result.bundle_error}"
            )
        # Signed here, at Finish: the hand-over names the key and the verify command it prints
        # works at once (browser mode keeps its window open on the report after this).
        signed_by = self._sign() if result.bundle_error is None else None
        card = result.scorecard.to_dict() if result.scorecard is not None else None
        self.print(
            final_text(
                result.verdict,
                card,
                result.exit_code,
                self.output,
                self.profile.regulation,
                signed_by=signed_by,
            )
        )
        return result.exit_code

    def _sign(self) -> str | None:
        """Sign the finished bundle's manifest with the configured key; its fingerprint."""
        key = self.options.signing_key
        if key is None:
            return None
        from paywitness.evidence.manifest import MANIFEST_NAME
        from paywitness.evidence.signing import fingerprint, sign_manifest

        sign_manifest(self.output, key, MANIFEST_NAME)
        return fingerprint(key.public_key())
