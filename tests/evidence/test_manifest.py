"""MANIFEST.sha256 and `paywitness verify`."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness.cli import main
from paywitness.evidence.manifest import MANIFEST_NAME, bundle_files, verify_bundle


def test_manifest_lists_every_file_but_itself_sorted(bundle: Path) -> None:
    lines = (bundle / MANIFEST_NAME).read_text().splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(names) == bundle_files(bundle)
    assert MANIFEST_NAME not in names
    assert {"verdict.json", "scorecard.json", "run.json", "flows.har", "report.html"} <= set(names)
    assert all(len(line.split("  ", 1)[0]) == 64 for line in lines)


def test_verify_accepts_an_intact_bundle(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(bundle)]) == 0
    assert "intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "victim", ["verdict.json", "flows.har", "ledger.jsonl", "ca/proxy-ca-main.pem"]
)
def test_one_changed_byte_fails_naming_the_file(
    bundle: Path, victim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert main(["verify", str(bundle)]) == 1
    assert f"changed: {victim}" in capsys.readouterr().out


def test_missing_and_extra_files_are_each_named(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / "report.html").unlink()
    (bundle / "screenshots").mkdir()
    (bundle / "screenshots" / "planted.png").write_bytes(b"x")
    result = verify_bundle(bundle)
    assert result.missing == ["report.html"]
    assert result.extra == ["screenshots/planted.png"]
    assert main(["verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "missing: report.html" in out
    assert "extra:   screenshots/planted.png" in out


def test_a_folder_that_is_not_a_bundle_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path)]) == 2
    assert "not a paywitness bundle" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "nope")]) == 2


def test_the_ca_private_key_never_enters_the_bundle(bundle: Path) -> None:
    assert (bundle / "ca" / "proxy-ca-main.pem").is_file()
    for rel in bundle_files(bundle):
        assert b"PRIVATE KEY" not in (bundle / rel).read_bytes(), rel
