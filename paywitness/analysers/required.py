"""Required payment calls: every completed purchase made them, served by an allowed role.

Payment routing judges the payment-class calls it sees; this rule judges the ones it should
have seen. A purchase is completed when its test reached the profile's `completed_step` (the
standard purchase enters `confirm` only once the confirmation is on screen). A relay that moves
the pay call server-side behind an innocent path leaves the completed purchase without it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from paywitness.analysers.artefacts import allowed_holders, artefact_hits
from paywitness.analysers.payment import flow_evidence
from paywitness.ledger import FlowRecord
from paywitness.profile import RequiredCall
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["analyse_required_calls", "completed_purchases", "payment_looking"]

_READS = ("GET", "HEAD", "OPTIONS")


def completed_purchases(
    records: Sequence[FlowRecord], completed_step: str
) -> dict[str | None, list[FlowRecord]]:
    """Records per test, for the tests that reached `completed_step` (a completed purchase)."""
    by_test: dict[str | None, list[FlowRecord]] = defaultdict(list)
    for r in records:
        by_test[r.test].append(r)
    return {
        test: sorted(recs, key=lambda r: (r.ts_start, r.id))
        for test, recs in by_test.items()
        if any(r.kind == "mark" and r.step == completed_step for r in recs)
    }


def _step_before(records: list[FlowRecord], completed_step: str) -> str | None:
    """The step the test was in before it reached `completed_step` (where paying happens)."""
    marks = [r.step for r in records if r.kind == "mark"]
    if completed_step not in marks:
        return None
    i = marks.index(completed_step)
    return marks[i - 1] if i > 0 else None


def payment_looking(
    ctx: AnalysisContext, records: Sequence[FlowRecord], pay_step: str | None
) -> list[FlowRecord]:
    """Calls to a role that may not process payment that look like paying: payment-class or
    carrying a payment artefact that role may not hold; failing those, the calls that changed
    state in the step where the buyer paid."""
    allowed = set(ctx.profile.payment.allowed_roles)
    elsewhere = [
        r
        for r in records
        if r.kind == "http" and r.role not in allowed and r.role not in ("browser", "paywitness")
    ]
    strong = [
        r
        for r in elsewhere
        if r.payment_class
        or any(r.role not in allowed_holders(ctx, str(h["name"])) for h in artefact_hits(r))
    ]
    if strong or pay_step is None:
        return strong
    return [r for r in elsewhere if r.step == pay_step and r.method.upper() not in _READS]


def _served(r: FlowRecord, names: list[str], allowed: set[str]) -> bool:
    return (
        r.kind == "http"
        and r.payment_class in names
        and r.role in allowed
        and r.status is not None
        and r.status < 400
    )


def _describe(req: RequiredCall, ctx: AnalysisContext) -> str:
    eps = {e.name: e for e in ctx.profile.payment.endpoints}
    parts = [f"{n} ({eps[n].method} {eps[n].path})" for n in req.any_of if n in eps]
    return " or ".join(parts)


def analyse_required_calls(ctx: AnalysisContext) -> CategoryResult:
    """Each completed purchase made each `payment.required` call, served by an allowed role."""
    result = CategoryResult(category="payment")
    policy = ctx.profile.payment
    if not policy.required:
        return result
    allowed: set[str] = set(policy.allowed_roles)
    purchases = completed_purchases(ctx.records, policy.completed_step)
    missing_total = 0
    per_call: dict[str, int] = {}
    for i, req in enumerate(policy.required):
        label = "/".join(req.any_of)
        per_call[label] = 0
        for test, recs in purchases.items():
            if any(_served(r, req.any_of, allowed) for r in recs):
                per_call[label] += 1
                continue
            missing_total += 1
            elsewhere = payment_looking(ctx, recs, _step_before(recs, policy.completed_step))
            where = (
                "; payment-looking call(s) that went elsewhere: "
                + ", ".join(f"{r.method} {r.url} ({r.role}, step {r.step!r})" for r in elsewhere)
                if elsewhere
                else "; no payment-looking call went elsewhere (it may have moved server-side)"
            )
            result.findings.append(
                Finding(
                    category="payment",
                    severity="critical",
                    rule_id="payment.required-call-missing",
                    message=(
                        f"the purchase of {test or 'this run'} completed (reached step "
                        f"{policy.completed_step!r}) without {_describe(req, ctx)} served by "
                        f"{', '.join(sorted(allowed))} (payment.required[{i}])" + where
                    ),
                    flow_ids=[r.id for r in elsewhere],
                    evidence=[flow_evidence(r) for r in elsewhere],
                )
            )
    n = len(purchases)
    expected = n * len(policy.required)
    result.observed["required_calls"] = {"purchases": n, "made": per_call}
    result.checks.append(
        Check(
            id="payment.required-calls",
            category="payment",
            status="not_observed" if not n else ("fail" if missing_total else "pass"),
            summary=(
                f"{missing_total} of {expected} required payment call(s) missing in {n} "
                "completed purchase(s)"
                if missing_total
                else f"{n} completed purchase(s) each made "
                + ", ".join(_describe(r, ctx) for r in policy.required)
                + f" served by {', '.join(sorted(allowed))}"
                if n
                else f"no purchase reached step {policy.completed_step!r}, so no required "
                "payment call to judge"
            ),
            # Tests that stop before the confirmation (a fault scenario) are judged elsewhere.
            required=False,
            figures={"purchases": n, "expected": expected, "missing": missing_total, **per_call},
        )
    )
    return result
