"""The detection matrix: each catalog violation fails its own category; compliant passes; the
committed docs/detection-matrix.md is exactly what a run produces today.

Each row is one demo run from the session's cache, so the tests about one violation's bundle
read the same run, and xdist spreads the rows over its workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from demo_runs import MATRIX_SEED, DemoRuns

from paywitness import matrix
from paywitness.demo.violations import CATALOG
from paywitness.matrix import (
    COMPLIANT,
    MatrixRow,
    demo_args,
    drift,
    read_row,
    render_markdown,
    run_matrix,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "detection-matrix.md"
ROWS = [COMPLIANT, *sorted(CATALOG)]


@pytest.mark.parametrize("violation", ROWS)
def test_each_row_is_caught_in_its_category(demo_runs: DemoRuns, violation: str) -> None:
    run = demo_runs.matrix(violation)
    row = read_row(violation, run.output)
    if violation == COMPLIANT:
        assert row.verdict == "pass", f"{row}\n{run.tail}"
    else:
        assert row.ok, f"not caught as expected: {row}\n{run.tail}"
        assert row.caught_by, f"{violation}: no finding in category {row.expected}"


def test_the_committed_matrix_is_current(demo_runs: DemoRuns) -> None:
    # Asked for last row first: under xdist the other worker works through the rows from the
    # top, so the two meet in the middle instead of this test waiting on the run in progress.
    runs = {v: demo_runs.matrix(v) for v in reversed(ROWS)}
    rows = [read_row(v, runs[v].output) for v in ROWS]
    problems = drift(DOC.read_text(encoding="utf-8"), rows)
    assert not problems, (
        f"docs/detection-matrix.md drifted ({problems}): run "
        "`paywitness matrix --write docs/detection-matrix.md`"
    )


def test_run_matrix_runs_each_row_as_the_tests_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`paywitness matrix` runs the rows the tests read: the same options and seed."""
    commands: list[list[str]] = []

    def fake_run(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        commands.append(cmd)
        out = Path(cmd[cmd.index("--output") + 1])
        out.mkdir(parents=True)
        failing = "--violation" in cmd
        verdict = {
            "verdict": "fail" if failing else "pass",
            "categories": {"payment": {"status": "fail" if failing else "pass"}},
            "findings": [{"category": "payment", "rule_id": "payment.x"}] if failing else [],
        }
        (out / "verdict.json").write_text(json.dumps(verdict))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(matrix.subprocess, "run", fake_run)
    rows = run_matrix(["payment-on-social"], workers=1)
    assert [c[c.index("--output") + 2 :] for c in commands] == [
        demo_args(COMPLIANT, MATRIX_SEED),
        demo_args("payment-on-social", MATRIX_SEED),
    ]
    assert rows == [
        MatrixRow(COMPLIANT, "pass", "pass", (), ()),
        MatrixRow("payment-on-social", "payment", "fail", ("payment",), ("payment.x",)),
    ]


def test_drift_is_what_must_hold_not_which_timing_rule_also_fired() -> None:
    rows = [
        MatrixRow(COMPLIANT, "pass", "pass", (), ()),
        MatrixRow(
            "payment-on-social", "payment", "fail", ("payment",), ("payment.role-not-allowed",)
        ),
    ]
    doc = render_markdown(rows)
    noisier = [rows[0], MatrixRow("payment-on-social", "payment", "fail", ("payment", "seamless"),
                                  ("payment.role-not-allowed", "seamless.timing"))]  # fmt: skip
    assert drift(doc, noisier) == []
    missed = [rows[0], MatrixRow("payment-on-social", "payment", "pass", (), ())]
    assert drift(doc, missed) == [
        "payment-on-social: documented ('payment', 'fail'), now ('payment', 'pass')",
        "payment-on-social: not caught as expected",
    ]
    assert drift(doc, rows[:1]) == ["payment-on-social: in the document but not in the catalog"]
