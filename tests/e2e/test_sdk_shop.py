"""The sdk-shop example through `paywitness run` and its profile alone (no Python): the
purchase passes, and each of its flag variants fails with the finding a generic analyser makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sdk-shop"


def _run(tmp_path: Path, *flags: str, keyword: str | None = None) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    out = tmp_path / "run"
    bindir = Path(sys.executable).parent
    pick = ["-k", keyword] if keyword else []
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "launch.py"), *flags, "--",
         str(bindir / "paywitness"), "run", "--profile", str(EXAMPLE / "profile.yaml"),
         "--output", str(out), *pick, "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    return done.returncode, verdict, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_profile_alone_pays_and_survives_its_faults(tmp_path: Path) -> None:
    code, verdict, output = _run(tmp_path)
    assert code == 0, output
    outcomes = verdict["meta"]["scenarios"]
    # Routing on the profile's phone, each resilience rule (silent SDK retries), seamless.
    assert len(outcomes) == 5, outcomes
    assert any("pixel-7" in n for n in outcomes)
    assert set(outcomes.values()) == {"passed"}
    seamless = {c["id"]: c for c in verdict["categories"]["seamless"]["checks"]}
    assert seamless["seamless.popups"]["status"] == "pass"  # the issuer's window was declared


@pytest.mark.parametrize(
    ("flag", "rule_id"),
    [
        ("--stale-orders", "merchant_ops.display-role"),
        ("--layout-shift", "seamless.cls"),
        ("--leak-analytics", "data.canary-leak"),
    ],
)
def test_each_flag_variant_fails_on_its_own_finding(
    tmp_path: Path, flag: str, rule_id: str
) -> None:
    code, verdict, output = _run(tmp_path, flag, keyword="paid_in_commerce")
    assert code == 1, output
    assert verdict["verdict"] == "fail"
    assert rule_id in {f["rule_id"] for f in verdict["findings"]}, output
