"""docs/own-shop.md: every fenced shell command runs as written, with the exit code it states."""

from __future__ import annotations

from pathlib import Path

import pytest
from guide_runs import GuideRuns, guide_commands

# The guide's runs are made once, by the worker that asks first; its tests share one worker, so
# the other never waits minutes on them.
pytestmark = pytest.mark.xdist_group("guide")

ROOT = Path(__file__).resolve().parents[2]


def test_readme_links_the_guide() -> None:
    assert "(docs/own-shop.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_of_the_guide_runs(guide_runs: GuideRuns) -> None:
    commands = guide_runs.commands()
    assert any("paywitness run" in c.command for c in commands)
    for c in commands:
        assert c.returncode == c.expected, c.tail
    (drift,) = [c for c in commands if "paywitness drift" in c.command]
    assert "charge: POST px.sosmed.example" in drift.stdout  # the drift names the leak


def test_commands_and_exit_codes_are_read_from_the_fences() -> None:
    text = "x\n```sh\na --b\n\nc d  # exit 3\n```\n```yaml\nnot: run\n```\n```sh\ne\n```\n"
    assert guide_commands(text) == [("a --b", 0), ("c d  # exit 3", 3), ("e", 0)]
