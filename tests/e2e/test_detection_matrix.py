"""The detection matrix: each catalog violation fails its own category; compliant passes; the
committed docs/detection-matrix.md is exactly what a run produces today."""

from __future__ import annotations

from pathlib import Path

from paywitness.matrix import COMPLIANT, render_markdown, run_matrix

DOC = Path(__file__).resolve().parents[2] / "docs" / "detection-matrix.md"


def test_every_violation_is_caught_in_its_category_and_the_doc_is_current() -> None:
    rows = run_matrix()
    by_name = {r.violation: r for r in rows}
    assert by_name[COMPLIANT].verdict == "pass", by_name[COMPLIANT]
    missed = [r for r in rows if not r.ok]
    assert not missed, f"not caught as expected: {missed}"
    for r in rows:
        if r.violation != COMPLIANT:
            assert r.caught_by, f"{r.violation}: no finding in category {r.expected}"
    assert DOC.read_text(encoding="utf-8") == render_markdown(rows), (
        "docs/detection-matrix.md drifted: run `paywitness matrix --write docs/detection-matrix.md`"
    )
