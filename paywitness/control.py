"""The control run (`--control`): each scenario once more, in a browser without the proxy.

An intercepting proxy changes what the target sees: its TLS client (mitmproxy's OpenSSL, not
the browser's), its HTTP versions, no HTTP/3. A shop may route or behave differently when it
sees that. The control replays a scenario in a second Chromium that reaches the target directly:
the target's names mapped by `--host-resolver-rules` (the demo's loopback servers, or the
profile's host overrides), its own CA trusted by SPKI hash (`--ignore-certificate-errors-spki-list`:
only that CA, never every certificate), QUIC allowed. Every request that browser sends is recorded
from the browser side as it starts (`ControlWatch`: Playwright's network events; a request whose
page closes before its answer still counts), and each answer's HTTP version and TLS protocol, into
`control-ledger*.jsonl`, apart from the run's ledgers; `paywitness.analysers.control` compares.

It uses the run's `RecordBook` (steps, ids, masking, classifier) through a route of its own:
no second proxy or addon chain exists, since the control has no proxy at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from paywitness.analysers.control import (
    CONTROL_OUTCOME,
    CONTROL_PROTOCOL,
    CONTROL_REQUEST,
    CONTROL_RUN,
    CONTROL_SUFFIX,
)
from paywitness.browser import CHROMIUM_ARGS, screencast_needed
from paywitness.classify import MARKER_HOST
from paywitness.ledger import FlowRecord, LedgerWriter
from paywitness.proxy import spki_sha256_b64
from paywitness.records import UNLABELLED
from paywitness.witness import VerdictFailed, Witness

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Request

    from paywitness.profile import Profile
    from paywitness.records import RecordBook
    from paywitness.run import RunContext
    from paywitness.seamless.probe import ContinuityProbe
    from paywitness.session import RecordingSession, Target

__all__ = [
    "CONTROL_SUFFIX",
    "ControlRun",
    "ControlWatch",
    "control_launch_args",
    "control_ledger_path",
    "note_nothing_replayed",
    "observe_like_the_run",
    "replay_kwargs",
]

_SPKI_FLAG = "--ignore-certificate-errors-spki-list="
_PROXY_ONLY_FLAGS = ("--disable-quic",)  # the proxy needs TCP; a real buyer's browser does not


def control_ledger_path(run: RunContext) -> Path:
    """Where this worker's control records go (outside the run's `ledger*.jsonl`)."""
    name = "control-ledger.jsonl" if run.worker == "main" else f"control-ledger-{run.worker}.jsonl"
    return run.output / name


def _resolver_rules(target: Target) -> str | None:
    """`--host-resolver-rules` sending the target's names where the proxy would dial them."""
    from proxy_addons.host_map import parse_host_map

    rules = [f"MAP {e.pattern} {e.host}:{e.port}" for e in parse_host_map(target.host_map)]
    if target.block_unmapped:
        rules.append("MAP * ~NOTFOUND")  # as the proxy answers unmapped hosts locally
    return ", ".join(rules) or None


def control_launch_args(launch_args: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """The run's browser launch settings without the proxy: same binary and headless mode, the
    target's names mapped, its CA (if it has its own) trusted by SPKI hash, QUIC allowed."""
    args = {k: v for k, v in launch_args.items() if k != "proxy"}
    flags = [
        a
        for a in args.get("args", [])
        if not a.startswith(_SPKI_FLAG) and a not in _PROXY_ONLY_FLAGS
    ]
    flags += [a for a in CHROMIUM_ARGS if a not in flags and a not in _PROXY_ONLY_FLAGS]
    rules = _resolver_rules(target)
    if rules:
        flags.append(f"--host-resolver-rules={rules}")
    if target.upstream_ca is not None:
        flags.append(_SPKI_FLAG + spki_sha256_b64(target.upstream_ca))
    args["args"] = flags
    return args


def note_nothing_replayed(run: RunContext) -> bool:
    """A run that asked for a control but ran no scenario a control could replay says so (the
    check is then stated, not silently absent); True if it had to."""
    from paywitness.run import control_records

    if not run.control or control_records(run.output):
        return False
    writer = LedgerWriter(control_ledger_path(run))
    try:
        writer.write(
            control_record(
                f"{run.worker}-control",
                run.worker,
                None,
                probe=CONTROL_RUN,
                available=False,
                reason="no scenario drove a page with a witness, so none was replayed",
            )
        )
    finally:
        writer.close()
    return True


def control_record(record_id: str, worker: str, test: str | None, **extra: Any) -> FlowRecord:
    """A record of the control itself (its availability, a scenario's outcome), stamped now."""
    now = time.time()
    return FlowRecord(
        id=record_id,
        kind="client",
        ts_start=now,
        ts_end=now,
        step=UNLABELLED,
        role="paywitness",
        rule="control",
        worker=worker,
        test=test,
        extra=extra,
    )


class ControlWatch:
    """Records every request a control context sends, as it starts, and each answer's protocol."""

    def __init__(self, book: RecordBook) -> None:
        self.book = book

    def watch(self, context: BrowserContext) -> None:
        context.on("request", self._sent)
        context.on("requestfinished", self._answered)

    @staticmethod
    def _target(request: Request) -> tuple[str, str, str] | None:
        u = urlsplit(request.url)
        if u.scheme not in ("http", "https") or not u.hostname or u.hostname == MARKER_HOST:
            return None
        return u.scheme, u.hostname.lower(), (u.path or "/") + (f"?{u.query}" if u.query else "")

    def _sent(self, request: Request) -> None:
        target = self._target(request)
        if target is None:
            return
        scheme, host, path = target
        self.book.note(
            "client",
            request.url,
            page_request=True,
            host=host,
            method=request.method,
            scheme=scheme,
            port=urlsplit(request.url).port or (443 if scheme == "https" else 80),
            path=path,
            extra={"probe": CONTROL_REQUEST, "resource_type": request.resource_type},
        )

    def _answered(self, request: Request) -> None:
        target = self._target(request)
        response = request.response()
        if target is None or response is None:
            return
        details = response.security_details()
        addr = response.server_addr()
        self.book.note(
            "client",
            request.url,
            host=target[1],
            method=request.method,
            path=target[2],
            role="paywitness",
            rule="control",
            http_version=response.http_version(),
            server_addr=f"{addr['ipAddress']}:{addr['port']}" if addr else None,
            status=response.status,
            extra={
                "probe": CONTROL_PROTOCOL,
                "tls": details.get("protocol") if details else None,
            },
        )


def observe_like_the_run(
    context: BrowserContext,
    page: Page,
    book: RecordBook,
    profile: Profile,
    *,
    screencast: bool = True,
) -> ContinuityProbe:
    """Give a control context the browser-side observation the proxied run's context has: the
    continuity probe (its page script; the moments it records are what the timings are read
    from), the initiator watch (a DevTools session that holds each new cross-site frame until it
    is watched) and a trace as the run's contexts have (discarded at the end). Each costs the
    page time; with them on both sides, the proxy is the only difference the timings measure."""
    from paywitness.evidence.capture import start_trace
    from paywitness.initiators import InitiatorWatch
    from paywitness.seamless.probe import ContinuityProbe

    initiators = InitiatorWatch(book)
    initiators.watch(context)
    start_trace(context, screencast=screencast)
    initiators.attach(page)
    probe = ContinuityProbe(context, book, profile, run="control")
    probe.attach(page)
    return probe


class ControlRun:
    """One worker's control runs: a proxy-less browser (launched on first use) and a ledger."""

    def __init__(self, session: RecordingSession) -> None:
        self.session = session
        self.book = session.book
        self.run = session.run
        self._ledger: LedgerWriter | None = None
        self._browser: Browser | None = None
        self._launch: Callable[[], Browser] | None = None
        self._screencast = True
        self.unavailable: str | None = None

    # -- set-up ----------------------------------------------------------------------------------
    def _writer(self) -> LedgerWriter:
        if self._ledger is None:
            self._ledger = LedgerWriter(control_ledger_path(self.run))
        return self._ledger

    def _note(self, test: str | None, **extra: Any) -> None:
        """A record of the control itself (its availability, a scenario's outcome)."""
        self._writer().write(control_record(self.book.next_id(), self.run.worker, test, **extra))

    def prepare(self, browser_type: BrowserType, launch_args: Mapping[str, Any]) -> None:
        """Say how the control browser starts (it starts on the first replay)."""
        target = self.session.target
        assert target is not None
        args = control_launch_args(launch_args, target)
        self._launch = lambda: browser_type.launch(**args)
        # The same binary and headless mode as the run: the same trace as its contexts.
        self._screencast = screencast_needed(args)
        flags = [a for a in args["args"] if a.startswith(("--host-resolver", _SPKI_FLAG))]
        self._note(None, probe=CONTROL_RUN, available=True, reason="", flags=flags)

    def refuse(self, reason: str) -> None:
        """The control cannot run in this set-up (said once in the verdict, never a crash)."""
        if self.unavailable is None:
            self.unavailable = reason
            self._note(None, probe=CONTROL_RUN, available=False, reason=reason)

    def skip(self, test_id: str, reason: str) -> None:
        """This scenario is not replayed without the proxy (listed, with why)."""
        self._note(
            test_id + CONTROL_SUFFIX,
            probe=CONTROL_OUTCOME,
            of=test_id,
            outcome="not_replayed",
            reason=reason,
        )

    # -- the replay ------------------------------------------------------------------------------
    def replay(
        self,
        test_id: str,
        scenario: Callable[[Page, Witness], object],
        context_args: Mapping[str, Any],
    ) -> str:
        """Run `scenario(page, witness)` once without the proxy; its outcome (also recorded)."""
        if self.unavailable is not None:
            return "not_replayed"
        if self._browser is None:
            assert self._launch is not None, "prepare() first"
            try:
                self._browser = self._launch()
            except Exception as e:  # a browser that cannot start is stated, not a crash
                why = self.session.redactor.text(str(e).strip().splitlines()[0] if str(e) else "")
                self.refuse(f"the control browser did not start: {type(e).__name__}: {why}")
                return "not_replayed"
        test = test_id + CONTROL_SUFFIX
        args = {k: v for k, v in context_args.items() if k not in ("proxy", "ignore_https_errors")}
        started = time.monotonic()
        outcome, error = "completed", None
        with self.book.replaying(test, self._writer()):
            context = self._browser.new_context(**args)
            ControlWatch(self.book).watch(context)
            witness = Witness(
                book=self.book,
                profile=self.run.profile,
                ledger_path=control_ledger_path(self.run),
                test_id=test,
                seed=self.run.seed,
            )
            probe: ContinuityProbe | None = None
            try:
                page = context.new_page()
                probe = observe_like_the_run(
                    context, page, self.book, self.run.profile, screencast=self._screencast
                )
                witness.observer = probe
                scenario(page, witness)
            except VerdictFailed:
                pass  # the scenario's own judgement reads proxy records; the control has none
            except Exception as e:
                outcome = "failed"
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                error = self.session.redactor.text(f"{type(e).__name__}: {first}")[:300]
            finally:
                if probe is not None:
                    probe.close()
                    context.tracing.stop()  # no path: the control's trace is not evidence
                context.close()
        self.book.route(test, None)
        self._note(
            test,
            probe=CONTROL_OUTCOME,
            of=test_id,
            outcome=outcome,
            error=error,
            seconds=round(time.monotonic() - started, 3),
        )
        return outcome

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def replay_kwargs(
    argnames: Sequence[str], funcargs: Mapping[str, Any], page: Page, witness: Witness
) -> dict[str, Any]:
    """A scenario's arguments for its control replay: its own, with the control's page/witness."""
    kwargs = {name: funcargs[name] for name in argnames}
    kwargs.update(page=page, witness=witness)
    return kwargs
