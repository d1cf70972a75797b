"""examples/migration-pair: a baseline recorded before the migration judges the migrated shop.

The migrated shop passes seamless against it; a checkout 2 s later, a late layout shift and an
extra redirect each fail, printing both sides' distributions. Small repeat counts keep it cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAIR = ROOT / "examples" / "migration-pair"


def _launch(stage: str, *args: str, variant: str | None = None) -> subprocess.CompletedProcess[str]:
    bindir = Path(sys.executable).parent
    cmd = [sys.executable, str(PAIR / "launch.py"), "--stage", stage]
    if variant:
        cmd += ["--variant", variant]
    return subprocess.run(
        [*cmd, "--", str(bindir / "paywitness"), *args, "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )


def _after(out: Path, baseline: Path, repeat: int, variant: str | None = None) -> Any:
    done = _launch(
        "after",
        "run",
        "--profile",
        str(PAIR / "after.yaml"),
        "-k",
        "seamless",
        "--baseline",
        str(baseline),
        "--repeat",
        str(repeat),
        "--output",
        str(out),
        "-q",
        variant=variant,
    )
    return done


def _checks(bundle: Path) -> dict[str, dict[str, Any]]:
    verdict = json.loads((bundle / "verdict.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in verdict["categories"]["seamless"]["checks"]}


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The old shop recorded as a baseline bundle (3 runs)."""
    out = tmp_path_factory.mktemp("pair") / "before"
    done = _launch(
        "before",
        "baseline",
        "record",
        "--profile",
        str(PAIR / "before.yaml"),
        "--repeat",
        "3",
        "--output",
        str(out),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert "baseline recorded" in done.stdout
    return out


def test_the_migrated_shop_passes_against_the_old_one(before: Path, tmp_path: Path) -> None:
    done = _after(tmp_path / "after", before, 3)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    checks = _checks(tmp_path / "after")
    assert {c["status"] for c in checks.values()} == {"pass"}, {
        k: c["summary"] for k, c in checks.items() if c["status"] != "pass"
    }
    assert "baseline bundle of profile 'pasar-kita before the migration'" in str(
        checks["seamless.timing"]["summary"]
    )
    assert (tmp_path / "after" / "baseline.json").is_file()


@pytest.mark.parametrize(
    ("variant", "repeat", "check", "shown"),
    [
        ("slow-checkout", 3, "seamless.timing", "buy_to_checkout_ready_ms: target median"),
        ("layout-shift", 1, "seamless.cls", "baseline median 0"),
        ("extra-redirect", 1, "seamless.redirects", "baseline median 0 (0..0, n=3)"),
    ],
)
def test_a_noticeable_migration_fails_with_both_distributions(
    before: Path, tmp_path: Path, variant: str, repeat: int, check: str, shown: str
) -> None:
    out = tmp_path / variant
    done = _after(out, before, repeat, variant=variant)
    assert done.returncode == 1, done.stdout[-6000:] + done.stderr[-3000:]
    failing = _checks(out)[check]
    assert failing["status"] == "fail"
    summary = str(failing["summary"])
    assert shown in summary, summary
    assert f"n={repeat}" in summary or "(n=1)" in summary, summary
