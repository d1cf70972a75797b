"""`paywitness merge` takes each shard of a run once: duplicates and overlaps are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paywitness.cli import main
from paywitness.evidence.manifest import write_manifest

from .conftest import TEST, make_run


def _shard(tmp_path: Path, name: str, shard: str, test: str) -> Path:
    """A finished bundle that ran `test` as shard `shard` of its run."""
    out = tmp_path / name
    make_run(out, tmp_path)
    run = json.loads((out / "run.json").read_text())
    run["shard"] = shard
    (out / "run.json").write_text(json.dumps(run))
    verdict = json.loads((out / "verdict.json").read_text())
    verdict["meta"]["scenarios"] = {test: "passed"}
    (out / "verdict.json").write_text(json.dumps(verdict))
    for ledger in out.glob("ledger*.jsonl"):
        ledger.write_text(ledger.read_text().replace(TEST, test))
    write_manifest(out)  # as the shard's own run would have sealed it
    return out


def test_distinct_shards_merge_into_one_verified_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _shard(tmp_path, "a", "1/2", TEST)
    b = _shard(tmp_path, "b", "2/2", TEST + "-other")
    assert main(["merge", str(a), str(b), "--output", str(tmp_path / "m")]) == 0
    assert main(["verify", str(tmp_path / "m")]) == 0


def test_the_same_bundle_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _shard(tmp_path, "a", "1/2", TEST)
    assert main(["merge", str(a), str(a), "--output", str(tmp_path / "m")]) == 2
    assert f"the same bundle was named twice ({a})" in capsys.readouterr().err
    copy = tmp_path / "copy-of-a"
    shutil.copytree(a, copy)
    assert main(["merge", str(a), str(copy), "--output", str(tmp_path / "m")]) == 2
    assert f"{a} and {copy} are the same bundle" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_the_same_shard_twice_or_overlapping_shards_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _shard(tmp_path, "a", "1/2", TEST)
    again = _shard(tmp_path, "a-again", "1/2", TEST + "-x")  # shard 1/2 run a second time
    assert main(["merge", str(a), str(again), "--output", str(tmp_path / "m")]) == 2
    assert f"{a} and {again} are both shard 1/2" in capsys.readouterr().err
    overlap = _shard(tmp_path, "c", "1/3", TEST)  # another split of the same scenarios
    assert main(["merge", str(a), str(overlap), "--output", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert f"{a} and {overlap} overlap: both ran {TEST}" in err


def test_a_tampered_shard_is_evidence_that_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _shard(tmp_path, "a", "1/2", TEST)
    b = _shard(tmp_path, "b", "2/2", TEST + "-other")
    (b / "ledger.jsonl").write_text((b / "ledger.jsonl").read_text().replace("social", "commerce"))
    assert main(["merge", str(a), str(b), "--output", str(tmp_path / "m")]) == 1
    assert "changed: ledger.jsonl" in capsys.readouterr().err
