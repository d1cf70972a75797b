"""The session's cache of demo runs: one run per options, whoever asks, stored whole."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import demo_runs
import pytest
from demo_runs import DemoRuns


def test_each_run_starts_once_however_many_ask_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[list[str]] = []

    def fake_run(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        started.append(cmd)
        time.sleep(0.2)  # long enough for the other askers to reach the lock
        out = Path(cmd[cmd.index("--output") + 1])
        out.mkdir(parents=True)
        (out / "verdict.json").write_text('{"verdict": "pass", "meta": {"seed": 3}}')
        return subprocess.CompletedProcess(cmd, 0, f"ran {cmd[-1]}", "")

    monkeypatch.setattr(demo_runs.subprocess, "run", fake_run)
    # Separate instances open the lock file separately, as separate xdist workers do.
    results: list[demo_runs.DemoRun] = []
    askers = [
        threading.Thread(target=lambda: results.append(DemoRuns(tmp_path).get("--seed", "3")))
        for _ in range(3)
    ]
    for t in askers:
        t.start()
    for t in askers:
        t.join()
    other = DemoRuns(tmp_path).get("--seed", "4")
    assert len(started) == 2
    assert [r.stdout for r in results] == ["ran 3"] * 3
    assert len({r.output for r in results}) == 1
    assert results[0].verdict()["verdict"] == "pass"
    assert other.output != results[0].output


def test_a_run_that_times_out_is_stored_as_a_failure_not_rerun(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = 0

    def stuck(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        nonlocal calls
        calls += 1
        raise subprocess.TimeoutExpired(cmd, 1.0, output="half a run")

    monkeypatch.setattr(demo_runs.subprocess, "run", stuck)
    runs = DemoRuns(tmp_path)
    first, again = runs.get("-k", "x"), runs.get("-k", "x")
    assert calls == 1
    assert (first.returncode, first.stdout) == (-1, "half a run")
    assert "timed out" in again.stderr
    with pytest.raises(AssertionError, match="no verdict from `demo -k x`"):
        first.verdict()


def test_the_run_whose_timings_must_pass_is_known_as_timed_and_is_the_matrix_compliant_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get(*args)` sees a tuple; the compliant full run is the matrix's compliant row plus what
    judges nothing (signing, the cookie journal), and `matrix(COMPLIANT)` reads it."""
    from paywitness.matrix import COMPLIANT, demo_args

    def as_get_sees(*args: str) -> tuple[str, ...]:
        return args

    full = demo_runs.COMPLIANT_FULL
    assert DemoRuns.timed(as_get_sees(*full))
    assert not DemoRuns.timed(as_get_sees(*demo_args("payment-on-social", demo_runs.MATRIX_SEED)))
    row = demo_args(COMPLIANT, demo_runs.MATRIX_SEED)
    assert list(full[: len(row)]) == row
    assert set(full[len(row) :]) >= {"--sign", "--cookie-journal=beside-output"}
    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(DemoRuns, "get", lambda self, *args: asked.append(args))
    DemoRuns(tmp_path).matrix(COMPLIANT)
    assert asked == [full]
