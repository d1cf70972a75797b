"""The detection matrix: each catalog violation fails its own category; compliant passes; the
committed docs/detection-matrix.md is exactly what a run produces today."""

from __future__ import annotations

from pathlib import Path

from paywitness.matrix import COMPLIANT, drift, render_markdown, run_matrix

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
    problems = drift(DOC.read_text(encoding="utf-8"), rows)
    assert not problems, (
        f"docs/detection-matrix.md drifted ({problems}): run "
        "`paywitness matrix --write docs/detection-matrix.md`"
    )


def test_drift_is_what_must_hold_not_which_timing_rule_also_fired() -> None:
    from paywitness.matrix import MatrixRow

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
