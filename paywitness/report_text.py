"""The verdict as a terminal table (pytest summary and CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from paywitness.categories import CATEGORY_TITLES, checks_text
from paywitness.verdict import Verdict

if TYPE_CHECKING:
    from paywitness.profile import RegulationClause

__all__ = ["verdict_table"]


def verdict_table(
    verdict: Verdict, regulation: Mapping[str, RegulationClause] | None = None
) -> str:
    """The verdict as terminal lines; each check with the clause it enforces, if mapped."""
    rows = [("category", "checks", "status")]
    for name, cat in verdict.categories.items():
        judged = [c for c in cat.checks if c.status not in ("not_observed", "not_judged")]
        passed = sum(c.status == "pass" for c in judged)
        count = {"checks": len(cat.checks), "judged": len(judged), "passed": passed}
        rows.append((CATEGORY_TITLES.get(name, name), checks_text(count), cat.status))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    pay = verdict.categories.get("payment")
    if pay is not None:
        by_role = pay.observed.get("payment_flows_by_role", {})
        total = pay.observed.get("payment_flows", 0)
        spread = ", ".join(f"{n} to {role}" for role, n in by_role.items()) or "none"
        out.append(f"payment-class flows: {total} ({spread})")
    for name, cat in verdict.categories.items():
        for ch in cat.checks:
            clause = (regulation or {}).get(ch.id) or (regulation or {}).get(name)
            law = f"  [{clause.clause}]" if clause is not None else ""
            out.append(f"  {ch.status:<12} {ch.id}: {ch.summary}{law}")
    for f in verdict.findings:
        out.append(f"  FINDING [{f.category}/{f.severity}] {f.rule_id}: {f.message}")
    seamless = verdict.categories.get("seamless")
    for w in (seamless.observed.get("waivers") or []) if seamless is not None else []:
        out.append(f"  waiver: seamless.{w.get('check')} -- {w.get('reason')}")
    for r in verdict.reasons:
        out.append(f"  reason: {r}")
    out.append(f"verdict: {verdict.verdict}")
    return "\n".join(out)
