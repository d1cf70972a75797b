"""Checks, findings and the run verdict: the data every analyser produces and every report reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from paywitness.categories import CATEGORIES, Category
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile

__all__ = [
    "CATEGORIES",
    "EXIT_CODES",
    "UNJUDGED",
    "Analyser",
    "AnalysisContext",
    "CategoryResult",
    "Check",
    "CheckStatus",
    "Finding",
    "Verdict",
    "VerdictName",
    "exit_code_for",
]

# not_observed: nothing to judge was seen; not_judged: seen, but nothing to judge it against
# (no baseline, no limit). Either keeps its category from passing while the check is required.
CheckStatus = Literal["pass", "fail", "not_observed", "not_judged"]
UNJUDGED: tuple[str, ...] = ("not_observed", "not_judged")
VerdictName = Literal["pass", "fail", "inconclusive"]
Severity = Literal["critical", "major", "minor", "info"]


@dataclass(slots=True)
class Check:
    """One rule evaluated over the run; `not_observed` when the run saw nothing to judge it by."""

    id: str
    category: Category
    status: CheckStatus
    summary: str
    required: bool = True
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Finding:
    """A rule outcome worth a human's attention, with the flows that prove it."""

    category: Category
    severity: Severity
    rule_id: str
    message: str
    flow_ids: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class CategoryResult:
    category: Category
    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> VerdictName | Literal["not_judged"]:
        if not self.checks or (
            all(c.status in UNJUDGED for c in self.checks)
            and not any(c.required for c in self.checks)
        ):
            return "not_judged"
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        if any(c.status in UNJUDGED and c.required for c in self.checks):
            return "inconclusive"
        return "pass"

    @property
    def score(self) -> float | None:
        judged = [c for c in self.checks if c.status not in UNJUDGED]
        if not judged:
            return None
        return sum(c.status == "pass" for c in judged) / len(judged)


@dataclass(slots=True)
class AnalysisContext:
    """What an analyser may read: the recorded flows, the profile, and its classifier."""

    records: Sequence[FlowRecord]
    profile: Profile
    classifier: Classifier
    # The same scenarios on the pre-migration target, kept apart (see paywitness.seamless).
    baseline: Sequence[FlowRecord] = ()

    def http(self) -> list[FlowRecord]:
        """Flows of the target itself (browser noise and paywitness markers left out)."""
        return [
            r for r in self.records if r.kind == "http" and r.role not in ("browser", "paywitness")
        ]


Analyser = Callable[[AnalysisContext], CategoryResult]


@dataclass(slots=True)
class Verdict:
    verdict: VerdictName
    categories: dict[Category, CategoryResult]
    reasons: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.categories.values() for f in c.findings]

    @classmethod
    def decide(
        cls,
        results: Iterable[CategoryResult],
        *,
        meta: dict[str, Any] | None = None,
        unfinished: Sequence[str] = (),
    ) -> Verdict:
        """The one place a verdict is decided: any failing category fails the run; a required
        check not observed, nothing judged, or a scenario that did not complete (`unfinished`:
        errored, or failed other than on its own findings) makes it inconclusive, never a pass.
        """
        cats: dict[Category, CategoryResult] = {}
        for r in results:
            if r.category in cats:  # several analysers may judge one category
                cats[r.category].checks.extend(r.checks)
                cats[r.category].findings.extend(r.findings)
                cats[r.category].observed.update(r.observed)
            else:
                cats[r.category] = r
        statuses = {name: c.status for name, c in cats.items()}
        reasons: list[str] = []
        if any(s == "fail" for s in statuses.values()):
            verdict: VerdictName = "fail"
            reasons = [f"{n}: failed" for n, s in statuses.items() if s == "fail"]
        elif any(s == "inconclusive" for s in statuses.values()) or not any(
            s == "pass" for s in statuses.values()
        ):
            verdict = "inconclusive"
            for c in cats.values():
                reasons += [
                    f"{c.category}: {ch.summary}"
                    for ch in c.checks
                    if ch.status in UNJUDGED and ch.required
                ]
            reasons = reasons or ["nothing was judged"]
        else:
            verdict = "pass"
        if unfinished:
            if verdict == "pass":
                verdict, reasons = "inconclusive", []
            if verdict == "inconclusive":  # a fail already names its findings
                reasons.append(
                    f"{len(unfinished)} scenario(s) did not complete: {', '.join(unfinished)}"
                )
        return cls(verdict=verdict, categories=cats, reasons=reasons, meta=meta or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "categories": {
                name: {
                    "status": c.status,
                    "score": c.score,
                    "checks": [asdict(ch) for ch in c.checks],
                    "observed": c.observed,
                }
                for name, c in self.categories.items()
            },
            "findings": [asdict(f) for f in self.findings],
            "meta": self.meta,
        }


EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "inconclusive": 3}


def exit_code_for(verdict: str, *, gate: str | None = None) -> int:
    """The one place a verdict becomes an exit code (DESIGN.md: 0 pass, 1 fail, 3 inconclusive;
    2 is a usage error): relaxed to 0 where the profile's CI gate passes or only warns."""
    if gate in ("pass", "warn"):
        return 0
    return EXIT_CODES[verdict]
