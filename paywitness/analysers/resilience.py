"""Payment under failure: one charge per idempotency key, no fallback to a forbidden role.

Both rules read only the ledger and the profile. A charge counts when the server answered it
with 2xx, even if the answer never reached the browser (a fault dropped it): the buyer's money
moved. A retry the server replayed (`Idempotent-Replayed: true`, or the very same answer body)
is the same charge, not a second one.
"""

from __future__ import annotations

from collections import defaultdict

from paywitness.analysers.artefacts import allowed_holders, artefact_hits
from paywitness.analysers.payment import flow_evidence
from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["analyse_resilience", "charge_endpoint", "linked_by_cause", "server_status"]


def charge_endpoint(ctx: AnalysisContext) -> str | None:
    """The payment endpoint that moves money: the profile's `charge_endpoint`, else `charge`."""
    policy = ctx.profile.payment
    if policy.charge_endpoint is not None:
        return policy.charge_endpoint
    return "charge" if any(e.name == "charge" for e in policy.endpoints) else None


def server_status(r: FlowRecord) -> int | None:
    """What the server answered (a response-phase fault may have replaced it for the client)."""
    fault = r.extra.get("fault")
    if isinstance(fault, dict) and isinstance(fault.get("upstream_status"), int):
        return int(fault["upstream_status"])
    if (
        isinstance(fault, dict)
        and fault.get("phase", "request") == "request"
        and fault.get("action") != "delay"
    ):
        return None  # answered or dropped by the proxy: the server never saw it
    return r.status


def _failed(r: FlowRecord) -> bool:
    return r.error is not None or (r.status is not None and r.status >= 500)


def _double_charges(ctx: AnalysisContext, result: CategoryResult) -> None:
    endpoint = charge_endpoint(ctx)
    charges = [r for r in ctx.http() if endpoint and r.payment_class == endpoint]
    by_key: dict[str, list[FlowRecord]] = defaultdict(list)
    unkeyed = 0
    for r in charges:
        status = server_status(r)
        if status is None or not 200 <= status < 300 or r.extra.get("idempotent_replayed"):
            continue
        key = r.extra.get("idempotency_key")
        if not isinstance(key, str):
            unkeyed += 1
            continue
        by_key[key].append(r)
    doubled = 0
    for key, flows in sorted(by_key.items()):
        # The same answer body again is a replay the server did not label.
        distinct: dict[object, FlowRecord] = {}
        for r in flows:
            distinct.setdefault(r.extra.get("response_sha256") or r.id, r)
        if len(distinct) < 2:
            continue
        doubled += 1
        offending = list(distinct.values())
        result.findings.append(
            Finding(
                category="payment",
                severity="critical",
                rule_id="payment.double-charge",
                message=(
                    f"{len(offending)} successful {endpoint!r} requests carried the same "
                    f"idempotency key ({key}): the buyer was charged {len(offending)} times "
                    "for one payment"
                ),
                flow_ids=[r.id for r in offending],
                evidence=[{**flow_evidence(r), "fault": r.extra.get("fault")} for r in offending],
            )
        )
    keys = len(by_key)
    result.observed["charges_by_key"] = {k: len(v) for k, v in sorted(by_key.items())}
    result.checks.append(
        Check(
            id="payment.single-charge",
            category="payment",
            status="not_observed" if not keys else ("fail" if doubled else "pass"),
            summary=(
                f"{doubled} of {keys} idempotency key(s) charged more than once"
                if doubled
                else f"{keys} idempotency key(s), each charged once"
                if keys
                else "no successful charge carrying an idempotency key was observed"
            ),
            required=False,
            figures={
                "keys": keys,
                "doubled": doubled,
                "charges": len(charges),
                "unkeyed_successes": unkeyed,
            },
        )
    )


def _artefacts(r: FlowRecord) -> set[str]:
    hits = r.extra.get("artefact_hits")
    if not isinstance(hits, list):
        return set()
    return {str(h.get("hash")) for h in hits if isinstance(h, dict)}


def linked_by_cause(failed: FlowRecord, later: FlowRecord) -> str | None:
    """Why `later` continues the payment `failed` was making, or None when nothing ties them:
    the same path (the failed endpoint repeated elsewhere), the same idempotency key, or a
    payment artefact (order id, charge id, ...) both carried."""
    if failed.path.split("?", 1)[0] == later.path.split("?", 1)[0]:
        return "it repeats the failed request's path"
    key = failed.extra.get("idempotency_key")
    if isinstance(key, str) and key == later.extra.get("idempotency_key"):
        return "it carries the same idempotency key"
    shared = _artefacts(failed) & _artefacts(later)
    if shared:
        names = sorted(
            {
                str(h.get("name"))
                for h in later.extra.get("artefact_hits") or []
                if isinstance(h, dict) and str(h.get("hash")) in shared
            }
        )
        return f"both carry the same payment artefact ({', '.join(names)})"
    return None


def _fallbacks(ctx: AnalysisContext, result: CategoryResult) -> None:
    allowed = set(ctx.profile.payment.allowed_roles)
    flows = sorted(ctx.http(), key=lambda r: (r.ts_start, r.id))
    failures = [r for r in flows if r.role in allowed and _failed(r)]
    found = 0
    for r in flows:
        forbidden = [h for h in artefact_hits(r) if r.role not in allowed_holders(ctx, h["name"])]
        if r.role in allowed or not (r.payment_class or forbidden):
            continue  # (an order reference social may hold is no payment of its own)
        # A later call is a fallback only of a failure it shares the payment with.
        linked = [
            (f, why)
            for f in failures
            if f.test == r.test and f.ts_end <= r.ts_start and (why := linked_by_cause(f, r))
        ]
        if not linked:
            continue
        cause, why = linked[-1]
        found += 1
        result.findings.append(
            Finding(
                category="payment",
                severity="critical",
                rule_id="payment.fallback-to-social"
                if r.role == "social"
                else "payment.fallback-to-forbidden-role",
                message=(
                    f"after {cause.method} {cause.url} to {cause.role!r} failed "
                    f"({cause.status or cause.error}), {r.method} {r.url} "
                    f"({r.payment_class or 'carrying its payment artefacts'}) went to "
                    f"{r.role!r} ({why}): the payment fell back to a role that may not process "
                    "payments"
                ),
                flow_ids=[cause.id, r.id],
                evidence=[flow_evidence(cause), flow_evidence(r)],
            )
        )
    result.checks.append(
        Check(
            id="payment.no-fallback",
            category="payment",
            status="not_observed" if not failures else ("fail" if found else "pass"),
            summary=(
                f"{found} payment-class request(s) went to a forbidden role after a failure"
                if found
                else f"{len(failures)} failed request(s) to {', '.join(sorted(allowed))}, "
                "no payment fell back elsewhere"
                if failures
                else "no failed request to an allowed role, so no fallback to judge"
            ),
            required=False,
            figures={"failures": len(failures), "fallbacks": found},
        )
    )


def analyse_resilience(ctx: AnalysisContext) -> CategoryResult:
    result = CategoryResult(category="payment")
    _double_charges(ctx, result)
    _fallbacks(ctx, result)
    return result
