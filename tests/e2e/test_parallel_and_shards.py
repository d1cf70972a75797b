"""`-n 2` and two merged shards judge exactly what a serial run judges."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demo_runs import DemoRuns, unjudged_only_for_want_of_a_baseline

# The routing scenario only: this test is about parallel and sharded runs judging alike, not
# about the timing-sensitive seamless comparison (tested on its own).
METHODS = ["--method", "card", "--method", "ewallet", "-k", "paid_in_commerce"]


def summary(bundle: Path) -> tuple[Any, ...]:
    v = json.loads((bundle / "verdict.json").read_text())
    pay = v["categories"]["payment"]
    outcomes = sorted(v["meta"]["scenarios"].values())
    checks = [c for cat in v["categories"].values() for c in cat["checks"]]
    statuses = sorted((c["id"], c["status"]) for c in checks)
    return v["verdict"], pay["observed"]["payment_flows_by_role"], outcomes, statuses


# One serial run, one with two workers, and two shards of the same run.
RUNS = {"serial": (), "n2": ("-n", "2"), "s1": ("--shard", "1/2"), "s2": ("--shard", "2/2")}
# Both tests read the same four runs: on one xdist worker, the other is never left waiting on them.
pytestmark = pytest.mark.xdist_group("parallel-and-shards")


@pytest.fixture(scope="module")
def runs(demo_runs: DemoRuns) -> dict[str, Path]:
    """The four runs' evidence folders (shared: copy before changing)."""
    folders = {}
    for name, extra in RUNS.items():
        r = demo_runs.get("--seed", "11", *METHODS, *extra)
        # Routing alone: no baseline replay, so some seamless checks stay not judged (exit 3).
        assert r.returncode == 3, f"{extra}: {r.tail}"
        assert unjudged_only_for_want_of_a_baseline(r.verdict()), f"{extra}: {r.tail}"
        folders[name] = r.output
    return folders


def test_parallel_and_merged_shards_match_the_serial_run(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    for name, folder in runs.items():
        shutil.copytree(folder, tmp_path / name)
    merged = tmp_path / "merged"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "merge", str(tmp_path / "s1"),
         str(tmp_path / "s2"), "--output", str(merged)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 3, r.stdout + r.stderr  # the merged verdict, inconclusive as each shard
    serial = summary(tmp_path / "serial")
    assert serial[0] == "inconclusive"
    assert ("payment.allowed-role", "pass") in serial[3]
    assert summary(tmp_path / "n2") == serial
    assert summary(merged) == serial
    assert len(json.loads((merged / "run.json").read_text())["merged_from"]) == 2
    verify = [sys.executable, "-m", "paywitness.cli", "verify", str(merged)]
    assert subprocess.run(verify, capture_output=True, timeout=60).returncode == 0


def test_merge_refuses_a_tampered_shard(runs: dict[str, Path], tmp_path: Path) -> None:
    shutil.copytree(runs["s1"], tmp_path / "a")
    shutil.copytree(runs["s2"], tmp_path / "b")
    ledger = next((tmp_path / "b").glob("ledger*.jsonl"))
    ledger.write_text(ledger.read_text() + "\n")
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "merge", str(tmp_path / "a"), str(tmp_path / "b"),
         "--output", str(tmp_path / "m")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1  # evidence that fails, not a usage error
    assert "fails verification" in r.stderr
    assert "changed: ledger" in r.stderr
