"""A ledger line is the whole record, nested values included, and reads back as it was."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from paywitness.ledger import FlowRecord, LedgerWriter, read_ledger


@dataclass
class _Where:
    layer: str
    offset: int


def _record(**extra: object) -> FlowRecord:
    return FlowRecord(
        id="r1",
        kind="http",
        ts_start=1.5,
        ts_end=2.25,
        step="pay",
        method="POST",
        url="https://pay.commerce.test/charge?x=1",
        host="pay.commerce.test",
        port=443,
        path="/charge?x=1",
        status=201,
        canary_hits=[{"kind": "email", "where": "body", "layers": ["base64", "url"]}],
        extra={"fault": {"phase": "request", "action": "delay", "ms": 300}, **extra},
    )


def test_a_line_is_the_record_as_asdict_gave_it_nested_values_and_all() -> None:
    record = _record(found=_Where("base64", 12), spans=(1, 2))
    expected = json.dumps(asdict(record), separators=(",", ":"), sort_keys=True)
    assert record.to_json() == expected
    assert json.loads(record.to_json())["extra"]["found"] == {"layer": "base64", "offset": 12}


def test_a_value_json_cannot_write_is_an_error_not_a_silent_line() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        _record(bad=object()).to_json()


def test_the_ledger_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    writer = LedgerWriter(path)
    record = _record()
    writer.write(record)
    writer.close()
    assert list(read_ledger(path)) == [record]
