"""Analysers: pure functions from recorded flows and a profile to category results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paywitness.analysers.artefacts import analyse_artefacts
from paywitness.analysers.data import analyse_data
from paywitness.analysers.identity import analyse_identity
from paywitness.analysers.interception import interception_check
from paywitness.analysers.merchant_ops import analyse_merchant_ops
from paywitness.analysers.payment import analyse_payment
from paywitness.analysers.required import analyse_required_calls
from paywitness.analysers.resilience import analyse_resilience
from paywitness.analysers.seamless import analyse_seamless
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.verdict import Analyser, AnalysisContext, Verdict

__all__ = [
    "ANALYSERS",
    "analyse_artefacts",
    "analyse_data",
    "analyse_identity",
    "analyse_merchant_ops",
    "analyse_payment",
    "analyse_required_calls",
    "analyse_resilience",
    "analyse_seamless",
    "judge",
]

ANALYSERS: tuple[Analyser, ...] = (
    analyse_payment,
    analyse_identity,
    analyse_required_calls,
    analyse_artefacts,
    analyse_data,
    analyse_resilience,
    analyse_merchant_ops,
    analyse_seamless,
)


def judge(
    records: Sequence[FlowRecord],
    profile: Profile,
    *,
    meta: dict[str, Any] | None = None,
    baseline: Sequence[FlowRecord] = (),
    classifier: Classifier | None = None,
    unfinished: Sequence[str] = (),
) -> Verdict:
    """Run every analyser over the records (and the baseline run's) and decide the verdict.

    `classifier`: the run's own (one per run), when the caller has one for this profile.
    """
    from paywitness.coverage import page_attributed

    if classifier is None or classifier.profile is not profile:
        classifier = Classifier(profile)
    # Noise is only what the browser sends by itself: a page's request is judged, whatever host.
    ctx = AnalysisContext(
        records=page_attributed(records, classifier),
        profile=profile,
        classifier=classifier,
        baseline=baseline,
    )
    results = [a(ctx) for a in ANALYSERS]
    # Coverage qualifies every category; its checks sit with payment, the heaviest one.
    from paywitness.coverage import coverage_checks

    checks, findings = coverage_checks(ctx)
    # Several analysers judge payment (routing, resilience): coverage joins the first, once.
    payment = next(r for r in results if r.category == "payment")
    payment.checks += checks
    payment.findings += findings
    payment.observed["coverage"] = {c.id: c.figures for c in checks}
    gap = interception_check(ctx)
    if gap is not None:  # unseen traffic never lets a run pass (an observed finding still fails)
        next(r for r in results if r.category == gap.category).checks.append(gap)
    return Verdict.decide(results, meta=meta, unfinished=unfinished)
