"""Analysers: pure functions from recorded flows and a profile to category results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paywitness.analysers.interception import interception_check
from paywitness.analysers.payment import analyse_payment
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.verdict import Analyser, AnalysisContext, Verdict

__all__ = ["ANALYSERS", "analyse_payment", "judge"]

ANALYSERS: tuple[Analyser, ...] = (analyse_payment,)


def judge(
    records: Sequence[FlowRecord], profile: Profile, *, meta: dict[str, Any] | None = None
) -> Verdict:
    """Run every analyser over the records and decide the verdict."""
    ctx = AnalysisContext(records=records, profile=profile, classifier=Classifier(profile))
    results = [a(ctx) for a in ANALYSERS]
    gap = interception_check(ctx)
    if gap is not None:  # unseen traffic never lets a run pass (an observed finding still fails)
        next(r for r in results if r.category == gap.category).checks.append(gap)
    return Verdict.decide(results, meta=meta)
