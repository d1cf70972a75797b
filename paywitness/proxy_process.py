"""The proxy in its own process: the addon chain and the ledger writer off the test's GIL.

`ProxyProcess` spawns a child that runs mitmproxy with the session's one addon chain and writes
the ledger itself (append-only, one line per record, as in-process). The parent keeps a
`RemoteBook` with the record book's interface over a pipe: the records the test notes are
stamped, classified and masked in the parent and sent one way (the child numbers and writes
them); test, step, route, canary and fault changes wait for the child's answer, so the flows
the browser starts next carry them. If the child dies (a crash, or a test killing it), the
parent stops sending: what the child wrote is on disk, whole, and the run ends `inconclusive`
like any lost piece of the harness.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from paywitness.canaries import Canary, CanarySet
from paywitness.classify import Classifier
from paywitness.errors import ConfigError
from paywitness.faults import FaultRule
from paywitness.ledger import FlowRecord, LedgerWriter
from paywitness.proxy import spki_sha256_b64
from paywitness.records import STEP_NAME, RecordBook
from proxy_addons.canary_watch import CanaryWatch
from proxy_addons.fault_injector import FaultInjector

__all__ = ["ProxyProcess", "ProxySpec", "RemoteBook", "RemoteCanaryWatch"]

log = logging.getLogger(__name__)
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0
# An answer takes milliseconds; a child silent this long is wedged, and is treated as lost.
_CALL_TIMEOUT = 60.0


@dataclass(frozen=True)
class ProxySpec:
    """Everything the child needs to build the chain (plain data: it crosses a process)."""

    profile_path: Path
    output: Path
    worker: str
    ledger_path: Path
    har_path: Path
    confdir: Path
    salt: bytes
    options: dict[str, Any] = field(default_factory=dict)
    faults: tuple[str, ...] = ()
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    record_tls_failures: bool = False


class ProxyGone(RuntimeError):
    """The proxy process is no longer there to answer."""


class ProxyProcess:
    """A mitmproxy child process; ProxyRunner's face (`url`, `port`, `ca_spki`, `stop`)."""

    def __init__(self, spec: ProxySpec) -> None:
        self.spec = spec
        self.listen_host = spec.listen_host
        self.port: int | None = None
        self._proc: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.gone = False

    @property
    def ca_cert_path(self) -> Path:
        return self.spec.confdir / "mitmproxy-ca-cert.pem"

    @property
    def ca_spki(self) -> str:
        return spki_sha256_b64(self.ca_cert_path)

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("proxy not started")
        return f"http://{self.listen_host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process running Playwright
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child_main, args=(self.spec, child), name="paywitness-proxy", daemon=True
        )
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(_START_TIMEOUT):
            self.kill()
            raise ConfigError(f"the proxy process did not start within {_START_TIMEOUT:.0f} s")
        try:
            kind, value = parent.recv()
        except EOFError as e:
            code = self._proc.exitcode if self._proc is not None else None
            self.kill()
            raise ConfigError(
                f"the proxy process exited while starting (exit code {code}); a script that "
                "starts a RecordingSession with own_process=True must do so under "
                '`if __name__ == "__main__":`, since the process re-imports the script'
            ) from e
        if kind != "ready":
            self.kill()
            raise ConfigError(str(value))
        self.port = int(value)

    def call(self, command: str, *args: Any) -> Any:
        """Run `command` in the child and return its answer; ProxyGone once it has died."""
        with self._lock:
            if self.gone or self._conn is None:
                raise ProxyGone("the proxy process is gone")
            try:
                self._conn.send((command, args, True))
                if not self._conn.poll(_CALL_TIMEOUT):
                    raise TimeoutError(f"no answer to {command!r} in {_CALL_TIMEOUT:.0f} s")
                kind, value = self._conn.recv()
            except (EOFError, OSError) as e:  # TimeoutError is an OSError
                self.gone = True
                raise ProxyGone(f"the proxy process is gone ({e or type(e).__name__})") from e
        if kind == "error":
            raise RuntimeError(f"proxy process: {command}: {value}")
        return value

    def tell(self, command: str, *args: Any) -> None:
        """Send `command` without waiting for an answer (the pipe keeps the order); ProxyGone
        once the child has died. A failure in the child is printed there."""
        with self._lock:
            if self.gone or self._conn is None:
                raise ProxyGone("the proxy process is gone")
            try:
                self._conn.send((command, args, False))
            except OSError as e:
                self.gone = True
                raise ProxyGone(f"the proxy process is gone ({e or type(e).__name__})") from e

    def addon_names(self) -> list[str]:
        """The class names of the child's addon chain, in order."""
        names = self.call("addon_names")
        assert isinstance(names, list)
        return names

    def stop(self) -> None:
        """Stop the child (gracefully if it still answers); the port is free on return."""
        if self._proc is None:
            return
        try:
            self.call("stop")
        except (ProxyGone, RuntimeError):
            pass
        self._proc.join(_STOP_TIMEOUT)
        self.kill()

    def kill(self) -> None:
        """End the child at once, as a crash would (the ledger keeps every whole line)."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(_STOP_TIMEOUT)
        self.gone = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._proc = None
        self.port = None


class RemoteBook(RecordBook):
    """The record book as the parent sees it: state mirrored, every record written by the child
    (which gives the ids); URLs are masked alike on both sides (same salt, same canaries)."""

    def __init__(
        self,
        proxy: ProxyProcess,
        *,
        classifier: Classifier,
        worker: str,
        mask_text: Callable[[str], str],
        planted: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__(classifier=classifier, worker=worker, mask_text=mask_text, planted=planted)
        self.proxy = proxy
        self._warned = False

    def _call(self, command: str, *args: Any, answer: bool = True) -> Any:
        try:
            if answer:
                return self.proxy.call(command, *args)
            self.proxy.tell(command, *args)
        except ProxyGone:
            if not self._warned:  # said once: the run is inconclusive for its own reasons
                log.warning("paywitness: the proxy process is gone; nothing more is recorded")
                self._warned = True
        return None

    def begin_test(self, test_id: str | None) -> str | None:
        previous, self._test = self._test, test_id
        self._call("begin_test", test_id)
        return previous

    def route(self, test_id: str, ledger: LedgerWriter | None) -> None:
        self._call("route", test_id, None if ledger is None else ledger.path)

    def set_step(self, step: str, *, source: str = "api", mark: bool = True) -> None:
        if not STEP_NAME.match(step):
            raise ValueError(f"{step!r} is not a step name (lowercase letters, digits, - _)")
        self._step = step
        self._call("set_step", step, source, mark)

    def next_id(self) -> str:
        return ""  # the child numbers the record as it writes it, in its one id sequence

    # `note` is the record book's own: stamped, classified and masked here (same profile, salt
    # and canaries), then sent without waiting; the test and step travel in the record, so the
    # test's thread never waits for the proxy process to be scheduled. Step and test changes do
    # wait: the flows the browser starts next must carry them.
    def write(self, record: FlowRecord) -> None:
        self._call("write", record, answer=False)


class RemoteCanaryWatch(CanaryWatch):
    """The canary watch's face in the parent: the child searches flows, the parent scans data
    the browser observed with a scanner of its own over the same canaries."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.proxy = proxy
        super().__init__()

    def set_canaries(self, canaries: CanarySet | None) -> None:
        super().set_canaries(canaries)
        kinds = [(c.kind, c.value) for c in canaries.canaries] if canaries else []
        seed = canaries.seed if canaries else None
        try:
            self.proxy.call("set_canaries", kinds, seed)
        except ProxyGone:
            pass


def add_canaries_remote(proxy: ProxyProcess, canaries: Sequence[Canary]) -> None:
    """Mask these values in the child's records and HAR entries too."""
    try:
        proxy.call("add_canaries", [(c.kind, c.value) for c in canaries])
    except ProxyGone:
        pass


def set_test_faults_remote(proxy: ProxyProcess, rules: Sequence[FaultRule] | None) -> None:
    try:
        proxy.call("set_test_faults", list(rules or ()))
    except ProxyGone:
        pass


# -- the child ------------------------------------------------------------------------------------
def _child_main(spec: ProxySpec, conn: Connection) -> None:
    """Build the chain, report the port, answer commands until `stop` or the pipe closes."""
    try:
        state = _build(spec)
    except BaseException as e:  # told to the parent, which raises ConfigError
        conn.send(("error", str(e)))
        return
    runner, book, redactor, watch, injector, ledgers = state
    conn.send(("ready", runner.port))
    names = [type(a).__name__ for a in runner.addons]
    try:
        while True:
            try:
                command, args, answer = conn.recv()
            except (EOFError, OSError):
                break
            if not answer:
                try:
                    _answer(command, args, book, redactor, watch, injector, ledgers)
                except Exception as e:  # no one waits for this answer: said here
                    print(f"paywitness proxy process: {command}: {e}", file=sys.stderr)
                continue
            if command == "stop":
                conn.send(("ok", None))
                break
            if command == "addon_names":
                conn.send(("ok", names))
                continue
            try:
                result = _answer(command, args, book, redactor, watch, injector, ledgers)
            except Exception as e:  # reported, the proxy keeps serving
                conn.send(("error", f"{type(e).__name__}: {e}"))
            else:
                conn.send(("ok", result))
    finally:
        runner.stop()
        for ledger in [book.ledger, *ledgers.values()]:
            if ledger is not None:
                ledger.close()


def _build(spec: ProxySpec) -> Any:
    from paywitness.chain import addon_chain
    from paywitness.evidence.redaction import Redactor
    from paywitness.faults import parse_fault_rules
    from paywitness.profile import load_profile
    from paywitness.proxy import ProxyRunner, quiet_library_warnings

    quiet_library_warnings()
    classifier = Classifier(load_profile(spec.profile_path))
    redactor = Redactor(salt=spec.salt)
    book = RecordBook(
        ledger=LedgerWriter(spec.ledger_path),
        classifier=classifier,
        worker=spec.worker,
        mask_text=redactor.text,
    )
    watch = CanaryWatch()
    injector = FaultInjector(classifier=classifier, rules=parse_fault_rules(spec.faults))
    runner = ProxyRunner(
        addon_chain(
            book=book,
            classifier=classifier,
            redactor=redactor,
            canary_watch=watch,
            injector=injector,
            har_path=spec.har_path,
            record_tls_failures=spec.record_tls_failures,
        ),
        confdir=spec.confdir,
        listen_host=spec.listen_host,
        listen_port=spec.listen_port,
        options=spec.options,
    )
    runner.start()
    ledgers: dict[str, LedgerWriter] = {}
    return runner, book, redactor, watch, injector, ledgers


def _answer(
    command: str,
    args: tuple[Any, ...],
    book: Any,
    redactor: Any,
    watch: Any,
    injector: Any,
    ledgers: dict[str, LedgerWriter],
) -> Any:
    if command == "begin_test":
        return book.begin_test(args[0])
    if command == "set_step":
        step, source, mark = args
        book.set_step(step, source=source, mark=mark)
        return None
    if command == "write":
        record = args[0]
        book.write(record if record.id else replace(record, id=book.next_id()))
        return None
    if command == "route":
        test_id, path = args
        if path is None:
            old = ledgers.pop(test_id, None)
            book.route(test_id, None)
            if old is not None:
                old.close()
        else:
            ledgers[test_id] = ledgers.get(test_id) or LedgerWriter(Path(path))
            book.route(test_id, ledgers[test_id])
        return None
    if command == "add_canaries":
        redactor.add_canaries([Canary(k, v) for k, v in args[0]])
        return None
    if command == "set_canaries":
        kinds, seed = args
        canaries = [Canary(k, v) for k, v in kinds]
        watch.set_canaries(CanarySet(tuple(canaries), redactor.salt, seed) if canaries else None)
        return None
    if command == "set_test_faults":
        rules = args[0]
        if rules:
            injector.set_test_rules(rules)
        else:
            injector.clear_test_rules()
        return None
    raise ValueError(f"unknown command {command!r}")
