"""The `paywitness` command end to end: real Chromium, real proxy, the built-in demo shop."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from demo_runs import COMPLIANT_FULL, MATRIX_SEED, DemoRuns

PAYWITNESS = [sys.executable, "-m", "paywitness.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PAYWITNESS, *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def test_demo_passes_and_names_roles(demo_runs: DemoRuns) -> None:
    r = demo_runs.get(*COMPLIANT_FULL)
    assert r.returncode == 0, r.tail
    assert "verdict: pass" in r.stdout
    # Every scenario's payment flows, the resilience ones included: none to social.
    assert re.search(r"payment-class flows: \d+ \(\d+ to commerce, \d+ to gateway\)", r.stdout)
    verdict = r.verdict()
    assert verdict["verdict"] == "pass"
    assert verdict["categories"]["seamless"]["status"] == "pass"
    assert verdict["categories"]["merchant_ops"]["status"] == "pass"
    assert (r.output / "baseline-ledger.jsonl").stat().st_size > 0
    assert verdict["meta"]["seed"] == MATRIX_SEED
    assert (r.output / "ledger.jsonl").stat().st_size > 0


def test_a_demo_run_prints_no_library_warning(demo_runs: DemoRuns) -> None:
    """Warnings are fixed at their source or filtered by message, never all silenced: pytest's
    summary of them and any `...Warning:` line would show in the buyer-facing terminal."""
    r = demo_runs.get(*COMPLIANT_FULL)
    out = r.stdout + r.stderr
    assert "warnings summary" not in out, r.tail
    assert not re.search(r"\b\w+Warning: ", out), re.findall(r".*\b\w+Warning: .*", out)[:5]


def test_payment_on_social_fails_with_the_offending_url(demo_runs: DemoRuns) -> None:
    r = demo_runs.matrix("payment-on-social")
    assert r.returncode == 1, r.tail
    assert "payment.role-not-allowed" in r.stdout
    assert "POST https://api.social.test/api/orders/" in r.stdout
    verdict = r.verdict()
    assert verdict["categories"]["payment"]["status"] == "fail"
    payment = [f for f in verdict["findings"] if f["category"] == "payment"]
    assert payment
    # Its route, the pay call commerce never served, and the charge id social received.
    assert {f["rule_id"] for f in payment} == {
        "payment.role-not-allowed",
        "payment.required-call-missing",
        "payment.artefact-reached-role",
    }
    for finding in payment:
        assert finding["evidence"][-1]["role"] == "social"
        assert finding["flow_ids"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--violation", "nope"], "unknown demo violation"),
        (["run", "--profile", "missing.yaml"], "missing.yaml does not exist"),
        (["demo", "--browser", "/no/such/chromium"], "/no/such/chromium"),
        (["demo", "--output", "/proc/paywitness"], "not writable"),
        (["demo", "--pre-migration", "--violation", "payment-on-social"], "one at a time"),
    ],
)
def test_bad_input_is_exit_2_without_traceback(
    args: list[str], message: str, tmp_path: Path
) -> None:
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("paywitness: error: ")
    assert list(tmp_path.iterdir()) == []  # a refused run leaves no (empty) reports/<time>/


def test_an_output_folder_holding_a_run_is_refused_and_kept(tmp_path: Path) -> None:
    old = tmp_path / "bundle"
    old.mkdir()
    (old / "ledger-main.jsonl").write_text('{"id": "old"}\n', encoding="utf-8")
    (old / "verdict.json").write_text("{}", encoding="utf-8")
    r = run("demo", "--output", str(old))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "already holds a run's evidence (verdict.json, ledger-main.jsonl)" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    # Nothing of the old bundle was touched.
    assert sorted(p.name for p in old.iterdir()) == ["ledger-main.jsonl", "verdict.json"]
    assert (old / "ledger-main.jsonl").read_text(encoding="utf-8") == '{"id": "old"}\n'


def test_list_violations() -> None:
    r = run("demo", "--list-violations")
    assert r.returncode == 0
    assert "payment-on-social" in r.stdout
    assert "invoice-on-social" in r.stdout
