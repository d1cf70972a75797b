"""examples/migration-pair: a baseline recorded before the migration judges the migrated shop.

The migrated shop passes seamless against it; a checkout 2 s later, a late layout shift and an
extra redirect each fail, printing both sides' distributions. The runs are the ones the guide
(docs/own-shop.md, section 16) tells a user to make, as written there, shared with its test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from guide_runs import GuideRuns

# The guide's runs are made once, by the worker that asks first; its tests share one worker, so
# the other never waits minutes on them.
pytestmark = pytest.mark.xdist_group("guide")


def _checks(bundle: Path) -> dict[str, dict[str, Any]]:
    verdict = json.loads((bundle / "verdict.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in verdict["categories"]["seamless"]["checks"]}


def test_the_old_shop_is_recorded_as_a_baseline_bundle(guide_runs: GuideRuns) -> None:
    before = guide_runs.by_output("runs/before")
    assert before.returncode == 0, before.tail
    assert "baseline recorded" in before.stdout
    assert before.option("--repeat") == "3"


def test_the_migrated_shop_passes_against_the_old_one(guide_runs: GuideRuns) -> None:
    after = guide_runs.by_output("runs/after")
    assert after.option("--baseline") == "runs/before"
    assert after.returncode == 0, after.tail
    out = guide_runs.workdir / "runs" / "after"
    checks = _checks(out)
    assert {c["status"] for c in checks.values()} == {"pass"}, {
        k: c["summary"] for k, c in checks.items() if c["status"] != "pass"
    }
    assert "baseline bundle of profile 'pasar-kita before the migration'" in str(
        checks["seamless.timing"]["summary"]
    )
    assert (out / "baseline.json").is_file()


SLOW = "buy_to_checkout_ready_ms: target median"
REDIRECTS = "baseline median 0 (0..0, n=3)"


@pytest.mark.parametrize(
    ("output", "variant", "repeat", "check", "shown"),
    [
        ("runs/slow", "slow-checkout", 3, "seamless.timing", SLOW),
        ("runs/shift", "layout-shift", 1, "seamless.cls", "baseline median 0"),
        ("runs/redirect", "extra-redirect", 1, "seamless.redirects", REDIRECTS),
    ],
)
def test_a_noticeable_migration_fails_with_both_distributions(
    guide_runs: GuideRuns, output: str, variant: str, repeat: int, check: str, shown: str
) -> None:
    done = guide_runs.by_output(output)
    assert done.option("--variant") == variant
    assert done.option("--repeat") == str(repeat)
    assert done.returncode == 1, done.tail
    failing = _checks(guide_runs.workdir / output)[check]
    assert failing["status"] == "fail"
    summary = str(failing["summary"])
    assert shown in summary, summary
    assert f"n={repeat}" in summary or "(n=1)" in summary, summary
