"""The record book: where every ledger record of one worker is stamped, masked and written.

The recorder addon builds the records of the flows it proxies from mitmproxy's flow; everything
else — step marks, links shown, canaries planted, browser-side observations (probes, coverage,
client channels, initiators), refused TLS handshakes — goes through `RecordBook.note`, which
stamps the time, the test and the step, classifies the host, masks the URL (secrets and this
run's canaries) and appends the record to the test's ledger. One id sequence per worker.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord, LedgerWriter, RecordKind
from paywitness.redact import redact_url

__all__ = ["STEP_NAME", "UNLABELLED", "RecordBook"]

STEP_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
#: The step of flows outside any `witness.step(...)` block.
UNLABELLED = "unlabelled"


class RecordBook:
    """One worker's current test and step, its id sequence, its masking and its ledgers."""

    def __init__(
        self,
        *,
        ledger: LedgerWriter | None = None,
        classifier: Classifier | None = None,
        worker: str = "main",
        mask_text: Callable[[str], str] | None = None,
        planted: Callable[[], list[str]] | None = None,
    ) -> None:
        self.ledger = ledger
        self.classifier = classifier
        self.worker = worker
        self._mask_text = mask_text
        self._planted = planted
        self._step = UNLABELLED
        self._test: str | None = None
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        # Records of these tests go to their own ledger (a replay on the baseline target).
        self._routes: dict[str, LedgerWriter] = {}

    # -- state ---------------------------------------------------------------------------------
    @property
    def step(self) -> str:
        """The step flows starting now are labelled with."""
        return self._step

    @property
    def test(self) -> str | None:
        """The test flows starting now belong to (None between tests)."""
        return self._test

    def begin_test(self, test_id: str | None) -> str | None:
        """Records from now on belong to `test_id`; returns the test they belonged to before."""
        with self._lock:
            previous, self._test = self._test, test_id
        return previous

    def route(self, test_id: str, ledger: LedgerWriter | None) -> None:
        """Send the records of `test_id` to `ledger` (None: back to the worker's own ledger)."""
        with self._lock:
            if ledger is None:
                self._routes.pop(test_id, None)
            else:
                self._routes[test_id] = ledger

    @contextmanager
    def replaying(self, test_id: str, ledger: LedgerWriter) -> Iterator[None]:
        """Within the block, records belong to `test_id` and go to `ledger`; then as before."""
        self.route(test_id, ledger)
        previous = self.begin_test(test_id)
        try:
            yield
        finally:
            self.set_step(UNLABELLED)
            self.begin_test(previous)

    def set_step(self, step: str, *, source: str = "api", mark: bool = True) -> None:
        """Label the flows that start from now on; the change itself is recorded as a mark
        (unless `mark` is false: a standalone proxy's starting step is configuration)."""
        if not STEP_NAME.match(step):
            raise ValueError(f"{step!r} is not a step name (lowercase letters, digits, - _)")
        with self._lock:
            self._step = step
        if mark:
            self.note("mark", step=step, extra={"source": source}, role="unknown", rule="")

    # -- building records ----------------------------------------------------------------------
    def next_id(self) -> str:
        return f"{self.worker}-{next(self._seq):06d}"

    def planted_values(self) -> list[str]:
        """The values planted so far (canaries), for what must not show them (a screenshot)."""
        return self._planted() if self._planted is not None else []

    def mask_url(self, url: str) -> str:
        """A URL (or path) as the ledger may keep it: secret parameters, cards, canaries masked."""
        masked = redact_url(url)
        return self._mask_text(masked) if self._mask_text is not None else masked

    def role_of(self, host: str) -> tuple[str, str]:
        if self.classifier is None or not host:
            return "unknown", ""
        return self.classifier.role_of(host)

    def note(
        self, kind: RecordKind, url: str = "", *, page_request: bool = False, **facts: Any
    ) -> FlowRecord:
        """Stamp, classify, mask and write one record the proxy did not make itself.

        `facts` are FlowRecord fields (method, path, port, canary_hits, extra, ts_start, ...);
        the host comes from the URL unless given, its role and rule from the profile unless
        given. A `page_request` (one the browser reports, so a page, frame or worker made it) is
        classified like a proxied request, payment class included, and never as browser noise.
        """
        now = time.time()
        host = str(facts.pop("host", None) or (urlsplit(url).hostname or "")).lower()
        fields: dict[str, Any] = {
            "id": self.next_id(),
            "kind": kind,
            "ts_start": now,
            "ts_end": now,
            "step": self._step,
            "url": self.mask_url(url) if url else "",
            "host": host,
            "worker": self.worker,
            "test": self._test,
        }
        if "role" not in facts:
            if page_request and self.classifier is not None and host:
                method = str(facts.get("method") or "")
                c = self.classifier.classify(host, method, facts["path"], page=True)
                fields.update(role=c.role, rule=c.rule, payment_class=c.payment_class)
            else:
                fields["role"], fields["rule"] = self.role_of(host)
        if facts.get("path"):
            facts["path"] = self.mask_url(facts["path"])
        fields.update(facts)
        record = FlowRecord(**fields)
        self.write(record)
        return record

    def write(self, record: FlowRecord) -> None:
        """Append a record to its test's ledger (the worker's own unless routed elsewhere)."""
        ledger = self._routes.get(record.test or "", self.ledger)
        if ledger is not None:
            ledger.write(record)

    def link(self, link: str, url: str) -> FlowRecord:
        """Record a link the buyer was shown (e.g. the invoice link) with the role of its host."""
        return self.note("link", url, method="LINK", extra={"link": link})
