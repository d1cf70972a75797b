"""The verdict is decided in one function (`Verdict.decide`) and becomes an exit code in one
(`exit_code_for`); every other layer (plugin, CLI, witness, re-judge, merge) goes through them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paywitness.evidence.gate import gate_exit_code
from paywitness.verdict import CategoryResult, Check, Verdict, exit_code_for

ROOT = Path(__file__).resolve().parents[2]


def _cat(category: str, *statuses: str, required: bool = True) -> CategoryResult:
    checks = [
        Check(f"{category}.c{i}", category, s, f"check {i}", required=required)  # type: ignore[arg-type]
        for i, s in enumerate(statuses)
    ]
    return CategoryResult(category, checks)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("results", "unfinished", "verdict"),
    [
        ([_cat("payment", "pass"), _cat("data", "pass")], [], "pass"),
        ([_cat("payment", "pass"), _cat("data", "fail")], [], "fail"),
        ([_cat("payment", "pass"), _cat("data", "not_observed")], [], "inconclusive"),
        ([_cat("payment", "not_observed", required=False)], [], "inconclusive"),  # nothing judged
        ([_cat("payment", "pass")], ["t::crashed"], "inconclusive"),  # never a pass
        ([_cat("payment", "fail")], ["t::crashed"], "fail"),  # a fail names its findings
    ],
)
def test_the_verdict_is_decided_once(
    results: list[CategoryResult], unfinished: list[str], verdict: str
) -> None:
    decided = Verdict.decide(results, unfinished=unfinished)
    assert decided.verdict == verdict
    if unfinished and verdict == "inconclusive":
        assert decided.reasons[-1] == "1 scenario(s) did not complete: t::crashed"


@pytest.mark.parametrize(
    ("verdict", "gate", "code"),
    [
        ("pass", None, 0),
        ("fail", None, 1),
        ("inconclusive", None, 3),
        ("fail", "fail", 1),
        ("inconclusive", "fail", 3),
        ("fail", "warn", 0),  # the profile's gate only warns about this category
        ("inconclusive", "pass", 0),  # the profile's gate lets an inconclusive run through
    ],
)
def test_the_exit_code_is_decided_once(verdict: str, gate: str | None, code: int) -> None:
    assert exit_code_for(verdict, gate=gate) == code
    gate_dict = {"result": gate, "reasons": []} if gate else None
    assert gate_exit_code({"verdict": verdict}, gate_dict) == code


def test_no_other_module_maps_a_verdict_to_an_exit_code() -> None:
    mapping = re.compile(r"""["']inconclusive["']\s*:\s*3""")
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("paywitness", "proxy_addons", "benchmarks")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if mapping.search(p.read_text(encoding="utf-8")) and p.name != "verdict.py"
    ]
    assert offenders == []
