"""The one addon chain, defined once (in-process, or in the proxy's own process).

Order matters: the fault injector first (the recorder then sees the fault it injected), the
canary and artefact watches before the recorder (it puts their hits into each record), the host
map after it (the recorder keeps the name the browser asked for), then the HAR capture and, in
witness mode, the TLS failures. Addons pass their per-flow results on in `flow.metadata`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paywitness.classify import Classifier
from paywitness.evidence.redaction import Redactor
from paywitness.records import RecordBook
from proxy_addons.artefact_watch import ArtefactWatch
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.canary_watch import CanaryWatch
from proxy_addons.fault_injector import FaultInjector
from proxy_addons.har_capture import HarCapture
from proxy_addons.host_map import HostMap
from proxy_addons.tls_failures import TlsFailures

__all__ = ["addon_chain"]


def addon_chain(
    *,
    book: RecordBook,
    classifier: Classifier,
    redactor: Redactor,
    canary_watch: CanaryWatch,
    injector: FaultInjector,
    har_path: Path,
    record_tls_failures: bool = False,
) -> list[Any]:
    """The addons every recording session runs, in their order."""
    addons: list[Any] = [
        injector,
        canary_watch,
        ArtefactWatch(classifier),
        BackendRecorder(book=book),
        HostMap(),
        HarCapture(redactor=redactor, path=har_path),
    ]
    if record_tls_failures:
        # Only where the client's trust is not ours to set (a phone, a person's browser): a
        # browser paywitness launched trusts the run's CA by construction, so a handshake it
        # drops (a preconnect cancelled, a reset fault) is no sign of an uninspected app.
        addons.append(TlsFailures(book))
    return addons
