"""A scenario's id, from which its seed is derived, is the same however paywitness is started.

The id joins the parameters in the order the plugins parametrized them (pytest-playwright's
`browser_name`, then paywitness's method, device and locale). That order followed the order
pytest registered the two plugins in, which followed `sys.path`: `paywitness demo` started from
the project folder gave `[chromium-desktop-id-ID-card]`, started elsewhere (or plain `pytest`)
`[desktop-id-ID-card-chromium]`, and `--seed 1` then bought with other buyers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _first_id(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids, done.stdout[-2000:] + done.stderr[-2000:]
    return ids[0]


def test_the_same_scenario_id_from_the_command_and_pytest_anywhere(tmp_path: Path) -> None:
    pick = ["-k", "paid_in_commerce", "--paywitness-method=card"]
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider"]
    seen = {}
    for where in (ROOT, tmp_path):
        out = tmp_path / f"out-{len(seen)}"
        seen[f"paywitness demo from {where}"] = _first_id(
            [sys.executable, "-m", "paywitness.cli", "demo", "--output", str(out), *pick[:2],
             "--method", "card", "--", *collect],
            where,
        )  # fmt: skip
        seen[f"pytest from {where}"] = _first_id(
            [str(BIN / "pytest"), str(ROOT / "scenarios"), "--paywitness-demo",
             f"--paywitness-output={out}-pytest", *pick, *collect],
            where,
        )  # fmt: skip
    assert len(set(seen.values())) == 1, seen
    assert next(iter(seen.values())).endswith("[chromium-desktop-id-ID-card]"), seen
