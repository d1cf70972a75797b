"""--device reaches the user's own scenario, which never asked for a device."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OWN = """
def test_my_scenario_sees_the_device(page, playwright, witness):
    page.goto(witness.start_url)
    assert page.viewport_size == playwright.devices["Pixel 7"]["viewport"]
    assert page.evaluate("navigator.maxTouchPoints") > 0
"""


def test_device_option_reaches_the_users_own_scenario(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "test_own_device.py").write_text(OWN, encoding="utf-8")
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--scenarios", str(own),
         "--device", "Pixel 7", "--output", str(out), "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    outcomes = verdict["meta"]["scenarios"]
    assert list(outcomes.values()) == ["passed"], done.stdout[-3000:] + done.stderr[-2000:]
    (nodeid,) = outcomes
    assert "pixel-7" in nodeid  # parametrized by the device it was given
