"""The multipage-shop example: a server-rendered checkout paid from profile steps alone, in the
browser its profile describes (locale, timezone), which the user's own scenario gets too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from paywitness.ledger import read_ledgers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multipage-shop"

# The user's own scenario: it only looks at the browser it was given.
OWN = """
def test_my_browser_is_the_profiles(page, witness):
    page.goto(witness.start_url)
    assert page.evaluate("navigator.language") == "id-ID"
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone == "Asia/Jakarta"
"""


def test_multi_page_checkout_runs_from_steps_and_passes(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "test_own_browser.py").write_text(OWN, encoding="utf-8")
    out = tmp_path / "run"
    bindir = Path(sys.executable).parent
    done = subprocess.run(
        [
            sys.executable, str(EXAMPLE / "launch.py"), "--",
            str(bindir / "paywitness"), "run", "--profile", str(EXAMPLE / "profile.yaml"),
            "--output", str(out), "--scenarios", str(own), str(ROOT / "scenarios"),
            "-k", "paid_in_commerce or my_browser", "-q", "-p", "no:cacheprovider",
        ],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "pass"
    outcomes = verdict["meta"]["scenarios"]
    assert sorted(outcomes.values()) == ["passed", "passed"], outcomes
    records = list(read_ledgers(sorted(out.glob("ledger*.jsonl"))))
    routed = {(r.payment_class, r.role) for r in records if r.payment_class}
    assert {("address", "commerce"), ("charge", "gateway"), ("place-order", "commerce")} <= routed
    steps = {r.step for r in records if r.payment_class}
    assert {"checkout", "pay"} <= steps  # the step tags of the profile's steps label the flows
