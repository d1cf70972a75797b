"""Browser-side probe records go through the run's canary mask like the proxy's own records."""

from __future__ import annotations

import base64
from typing import Any

from paywitness.buyers import make_buyer
from paywitness.canaries import CanarySet
from paywitness.evidence.redaction import Redactor
from paywitness.ledger import FlowRecord
from paywitness.profile import demo_profile_path, load_profile
from paywitness.records import RecordBook
from paywitness.seamless.probe import ContinuityProbe


class _Context:
    def expose_binding(self, *_args: Any) -> None: ...

    def add_init_script(self, **_kwargs: Any) -> None: ...

    def on(self, *_args: Any) -> None: ...


class _Ledger:
    def __init__(self) -> None:
        self.records: list[FlowRecord] = []

    def write(self, record: FlowRecord) -> None:
        self.records.append(record)


class _FailedRequest:
    def __init__(self, url: str) -> None:
        self.url = url
        self.failure = "net::ERR_CONNECTION_RESET"


def test_a_failed_pixel_keeps_no_buyer_value_in_its_record() -> None:
    buyer = make_buyer(21)
    redactor = Redactor(salt=b"probe")
    redactor.add_canaries(CanarySet.from_buyer(buyer).canaries)
    ledger = _Ledger()
    book = RecordBook(ledger=ledger, mask_text=redactor.text)  # type: ignore[arg-type]
    probe = ContinuityProbe(_Context(), book, load_profile(demo_profile_path()))  # type: ignore[arg-type]
    token = base64.b64encode(buyer.email.encode()).decode()
    probe._on_failed(_FailedRequest(f"https://px.social.example/tr?ev=Purchase&ud={token}"))  # type: ignore[arg-type]
    (record,) = [r for r in ledger.records if r.kind == "client"]
    assert record.extra["probe"] == "request-failed"
    dumped = record.to_json()
    assert token not in dumped
    assert buyer.email not in dumped
    assert "[canary:email:" in record.url
