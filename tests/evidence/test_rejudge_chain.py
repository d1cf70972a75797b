"""Re-judging adds a dated record chained to the original; it never launders tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paywitness.cli import main

from .conftest import make_run


def _tamper_role(bundle: Path) -> None:
    """Change one recorded flow's role, as someone hiding a payment on social would."""
    ledger = bundle / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if rec.get("payment_class") in ("create-order", "pay"):
            rec["role"] = "commerce"
            lines[i] = json.dumps(rec)
    ledger.write_text("\n".join(lines) + "\n")


def _snapshot(bundle: Path) -> dict[str, bytes]:
    return {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()
    }


def test_report_refuses_a_tampered_bundle_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path, payment_host="api.social.test")  # a failing run
    _tamper_role(out)  # ... made to look compliant
    before = _snapshot(out)
    assert main(["verify", str(out)]) == 1
    capsys.readouterr()
    assert main(["report", str(out)]) == 1
    err = capsys.readouterr().err
    assert "changed: ledger.jsonl" in err
    assert "--force-unverified" in err
    assert _snapshot(out) == before
    assert not (out / "rejudged").exists()


def test_forced_rejudge_is_marked_unverified_and_verify_still_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path, payment_host="api.social.test")
    _tamper_role(out)
    original = {p: (out / p).read_bytes() for p in ("verdict.json", "MANIFEST.sha256")}
    assert main(["report", str(out), "--force-unverified"]) == 0  # the tampered ledger passes
    printed = capsys.readouterr().out
    assert "UNVERIFIED" in printed
    assert {p: (out / p).read_bytes() for p in original} == original
    (record,) = (out / "rejudged").iterdir()
    assert record.name.endswith("-unverified")
    verdict = json.loads((record / "verdict.json").read_text())
    assert verdict["meta"]["rejudged"]["verified"] is False
    assert any("ledger.jsonl" in r for r in verdict["meta"]["rejudged"]["unverified"])
    assert "UNVERIFIED" in (record / "report.html").read_text()
    assert "UNVERIFIED" in json.loads((record / "scorecard.json").read_text())["unverified"]
    # The original tampering is still reported, and the record says what it is.
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "changed: ledger.jsonl" in printed
    assert "UNVERIFIED" in printed


def test_verify_checks_the_chain_of_rejudged_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    assert main(["report", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    records = sorted((out / "rejudged").iterdir())
    assert len(records) == 2
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("intact, chained to MANIFEST.sha256") == 2
    assert "unsigned" in printed
    # A changed re-judged verdict breaks its record, named.
    v = records[0] / "verdict.json"
    v.write_text(v.read_text().replace('"pass"', '"fail"', 1))
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    assert f"rejudged/{records[0].name}: NOT intact: changed: verdict.json" in printed
    v.unlink()
    # A record moved onto another bundle no longer chains to that bundle's manifest.
    other = tmp_path / "reports" / "other"
    make_run(other, tmp_path)
    (other / "rejudged").mkdir()
    records[1].rename(other / "rejudged" / records[1].name)
    assert main(["verify", str(other)]) == 1
    assert "chained to another MANIFEST.sha256" in capsys.readouterr().out
