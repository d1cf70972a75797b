"""The guide's runs hold the demo runs off only while timings must pass against a baseline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import guide_runs
import pytest
from guide_runs import DOC, GuideRuns, guide_commands, needs_quiet


def test_only_recording_the_baseline_and_the_run_that_must_pass_need_quiet() -> None:
    quiet = [c for c, e in guide_commands(DOC.read_text(encoding="utf-8")) if needs_quiet(c, e)]
    assert len(quiet) == 2, quiet
    assert "baseline record" in quiet[0]
    assert "--baseline runs/before" in quiet[1]
    assert "--variant" not in quiet[1]


def test_quiet_is_held_once_across_consecutive_timed_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events: list[str] = []
    commands = [
        ("paywitness profile check a.yaml", 0),
        ("paywitness baseline record --output runs/before", 0),
        ("paywitness run --baseline runs/before --output runs/after", 0),
        ("paywitness run --baseline runs/before --variant slow --output runs/slow", 1),
        ("paywitness verify runs/after", 0),
    ]
    monkeypatch.setattr(guide_runs, "guide_commands", lambda _text: commands)

    def run(cmd: list[str], timeout: float, **_: Any) -> tuple[int, str, str]:
        events.append("run " + cmd[-1].split()[1])
        return 0, "", ""

    monkeypatch.setattr(guide_runs, "run_bounded", run)

    @contextmanager
    def alone() -> Iterator[None]:
        events.append("quiet")
        try:
            yield
        finally:
            events.append("loud")

    GuideRuns(tmp_path, alone=alone).commands()
    assert events == [
        "run profile",
        "quiet",
        "run baseline",
        "run run",
        "loud",
        "run run",
        "run verify",
    ]
