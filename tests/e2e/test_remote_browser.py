"""A remote browser (Playwright browser server) buys through our proxy and gets the same verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from demo_runs import unjudged_only_for_want_of_a_baseline


def test_remote_browser_pays_through_the_proxy(browser_server: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--method", "card",
         "-k", "paid_in_commerce", "--output", str(out),
         f"--paywitness-connect={browser_server}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text())
    assert r.returncode == 3, r.stdout[-3000:] + r.stderr  # the routing scenario has no baseline
    assert unjudged_only_for_want_of_a_baseline(verdict), r.stdout[-3000:]
    assert verdict["categories"]["payment"]["status"] == "pass"
    assert verdict["categories"]["payment"]["observed"]["payment_flows_by_role"] == {
        "commerce": 3,
        "gateway": 1,
    }
