"""The migration scorecard: per-category pass fractions, weighted like the ministry, plus the
seamless gate; read from `verdict.json` so a stored bundle scores the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paywitness.categories import CATEGORY_TITLES, WEIGHTS, checks_text

__all__ = [
    "CATEGORY_TITLES",
    "HISTORY_NAME",
    "SCORECARD_NAME",
    "WEIGHTS",
    "append_history",
    "build_scorecard",
    "checks_text",
    "scorecard_table",
    "write_scorecard",
]

SCORECARD_NAME = "scorecard.json"
HISTORY_NAME = "history.jsonl"


def _category(data: dict[str, Any] | None) -> dict[str, Any]:
    checks = list((data or {}).get("checks") or [])
    status = (data or {}).get("status") or "not_judged"
    if not checks:
        status = "not_judged"
    judged = [c for c in checks if c.get("status") not in ("not_observed", "not_judged")]
    passed = sum(c.get("status") == "pass" for c in judged)
    return {
        "status": status,
        "checks": len(checks),
        "judged": len(judged),
        "passed": passed,
        "score": (passed / len(judged)) if judged else None,
    }


def build_scorecard(verdict: dict[str, Any], gate: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scores from a verdict dict; a category not judged counts 0 toward progress, never 100%."""
    cats = verdict.get("categories") or {}
    rows = {name: _category(cats.get(name)) for name in CATEGORY_TITLES}
    progress = 0.0
    coverage = 0.0
    for name, weight in WEIGHTS.items():
        score = rows[name]["score"]
        rows[name]["weight"] = weight
        if score is not None:
            progress += weight * score
            coverage += weight
    seamless = rows["seamless"]
    meta = verdict.get("meta") or {}
    return {
        "verdict": verdict.get("verdict"),
        "progress": round(progress, 4),
        "weighted_coverage": round(coverage, 4),
        "categories": rows,
        "seamless_gate": seamless["status"],
        "gate": gate,
        "run": {k: meta.get(k) for k in ("started", "finished", "seed", "target", "violations")},
    }


def _pct(value: float | None) -> str:
    return "not judged" if value is None else f"{value * 100:.0f}%"


def scorecard_table(card: dict[str, Any]) -> str:
    """The scorecard as terminal lines."""
    lines = ["migration scorecard (payment 60% / data 20% / merchant operations 20%)"]
    for name, title in CATEGORY_TITLES.items():
        row = card["categories"][name]
        weight = f"{row['weight'] * 100:.0f}%" if "weight" in row else "gate"
        detail = checks_text(row)
        clause = (card.get("regulation") or {}).get(name)
        law = f"  [{clause}]" if clause else ""
        lines.append(f"  {title:<20} {weight:>5}  {_pct(row['score']):>10}  {detail}{law}")
    lines.append(
        f"  migration progress: {card['progress'] * 100:.0f}%  "
        f"(categories judged: {card['weighted_coverage'] * 100:.0f}% of the weight)"
    )
    lines.append(f"  seamless gate: {card['seamless_gate'].replace('_', ' ')}")
    gate = card.get("gate")
    if gate:
        lines.append(f"  CI gate: {gate['result']}" + "".join(f"; {r}" for r in gate["reasons"]))
    return "\n".join(lines)


def write_scorecard(bundle: Path, card: dict[str, Any]) -> Path:
    path = bundle / SCORECARD_NAME
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def append_history(history: Path, bundle: Path, card: dict[str, Any]) -> None:
    """One line per run, so a nightly suite shows a trend."""
    line = {
        "bundle": str(bundle),
        "finished": (card.get("run") or {}).get("finished"),
        "verdict": card["verdict"],
        "progress": card["progress"],
        "weighted_coverage": card["weighted_coverage"],
        "seamless_gate": card["seamless_gate"],
        "scores": {n: r["score"] for n, r in card["categories"].items()},
    }
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
