"""docs/own-shop.md: every fenced shell command runs as written, with the exit code it states."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "own-shop.md"
_FENCE = re.compile(r"```sh\n(.*?)```", re.DOTALL)
_EXIT = re.compile(r"#\s*exit (\d+)\s*$")


def _commands() -> list[tuple[str, int]]:
    out = []
    for block in _FENCE.findall(DOC.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.strip():
                m = _EXIT.search(line)
                out.append((line, int(m.group(1)) if m else 0))
    return out


def test_readme_links_the_guide():
    assert "(docs/own-shop.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_of_the_guide_runs(tmp_path):
    commands = _commands()
    assert any("paywitness run" in c for c, _ in commands)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    drift = ""
    for command, expected in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == expected, (
            f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        if "paywitness drift" in command:
            drift = done.stdout
    assert "charge: POST px.sosmed.example" in drift  # the drift names the leak
