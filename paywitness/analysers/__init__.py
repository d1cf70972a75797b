"""Analysers: pure functions from recorded flows and a profile to category results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paywitness.analysers.payment import analyse_payment
from paywitness.analysers.resilience import analyse_resilience
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.verdict import Analyser, AnalysisContext, Verdict

__all__ = ["ANALYSERS", "analyse_payment", "analyse_resilience", "judge"]

ANALYSERS: tuple[Analyser, ...] = (analyse_payment, analyse_resilience)


def judge(
    records: Sequence[FlowRecord], profile: Profile, *, meta: dict[str, Any] | None = None
) -> Verdict:
    """Run every analyser over the records and decide the verdict."""
    ctx = AnalysisContext(records=records, profile=profile, classifier=Classifier(profile))
    return Verdict.decide((a(ctx) for a in ANALYSERS), meta=meta)
