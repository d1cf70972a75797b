"""Payment routing: every payment-class request is served by a role allowed to process payments."""

from __future__ import annotations

from collections import Counter
from typing import Any

from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["analyse_payment", "flow_evidence"]


def flow_evidence(r: FlowRecord) -> dict[str, object]:
    """The few facts of a flow a finding shows (the URL is already masked by the recorder)."""
    return {
        "flow_id": r.id,
        "step": r.step,
        "method": r.method,
        "url": r.url,
        "role": r.role,
        "endpoint": r.payment_class,
        "server": r.server_addr,
        "status": r.status,
        **(
            {"identity_mismatch": r.extra["identity_mismatch"]}
            if "identity_mismatch" in r.extra
            else {}
        ),
    }


def _identity_note(mismatch: dict[str, Any]) -> str:
    ident = ", ".join(f"{k} {v!r}" for k, v in mismatch.get("server_identity", {}).items())
    return (
        f" — the hostname {mismatch.get('hostname')} names {mismatch.get('name_role')!r}, but "
        f"the server that answered ({ident}) is {mismatch.get('identity_role')!r}"
    )


def analyse_payment(ctx: AnalysisContext) -> CategoryResult:
    policy = ctx.profile.payment
    allowed = set(policy.allowed_roles)
    result = CategoryResult(category="payment")
    payment_flows = [r for r in ctx.http() if r.payment_class]
    by_role = Counter(r.role for r in payment_flows)
    by_endpoint = Counter(f"{r.payment_class}@{r.role}" for r in payment_flows)
    result.observed = {
        "payment_flows": len(payment_flows),
        "payment_flows_by_role": dict(sorted(by_role.items())),
        "payment_flows_by_endpoint": dict(sorted(by_endpoint.items())),
        "allowed_roles": sorted(allowed),
    }

    n = len(payment_flows)
    enough = n >= policy.minimum_flows
    result.checks.append(
        Check(
            id="payment.observed",
            category="payment",
            status="pass" if enough else "not_observed",
            summary=(
                f"{n} payment-class request(s) observed"
                if enough
                else f"only {n} payment-class request(s) observed, "
                f"{policy.minimum_flows} needed to judge payment routing"
            ),
            figures={"observed": n, "minimum": policy.minimum_flows},
        )
    )

    offending = [r for r in payment_flows if r.role not in allowed]
    for r in offending:
        mismatch = r.extra.get("identity_mismatch")
        result.findings.append(
            Finding(
                category="payment",
                severity="critical",
                rule_id="payment.identity-mismatch" if mismatch else "payment.role-not-allowed",
                message=(
                    f"{r.method} {r.url} ({r.payment_class}) in step {r.step!r} was served by "
                    f"role {r.role!r}; payment-class requests may only be served by "
                    f"{', '.join(sorted(allowed))}"
                )
                + (_identity_note(mismatch) if mismatch else ""),
                flow_ids=[r.id],
                evidence=[flow_evidence(r)],
            )
        )
    result.checks.append(
        Check(
            id="payment.allowed-role",
            category="payment",
            status="not_observed" if not payment_flows else ("fail" if offending else "pass"),
            summary=(
                f"{len(offending)} of {n} payment-class request(s) served by a role not allowed"
                if offending
                else f"all {n} payment-class request(s) served by {', '.join(sorted(by_role))}"
                if payment_flows
                else "no payment-class request to judge"
            ),
            figures={"offending": len(offending), "total": n},
        )
    )

    if policy.invoice_endpoint is not None:
        shown = [r for r in ctx.records if r.kind == "link" and r.extra.get("link") == "invoice"]
        # An invoice the buyer opened is a link they were given, whether or not a page probe
        # saw it (a phone, a person clicking): the record of the request counts too, once per URL.
        shown_urls = {r.url for r in shown}
        opened = {
            r.url: r
            for r in ctx.http()
            if r.payment_class == policy.invoice_endpoint and r.url not in shown_urls
        }
        links = shown + list(opened.values())
        bad_links = [r for r in links if r.role not in allowed]
        for r in bad_links:
            result.findings.append(
                Finding(
                    category="payment",
                    severity="major",
                    rule_id="payment.invoice-link-role",
                    message=(
                        f"the invoice link {'shown to' if r.kind == 'link' else 'opened by'} "
                        f"the buyer in step {r.step!r} points to "
                        f"{r.url}, a {r.role!r} host; invoices belong to "
                        f"{', '.join(sorted(allowed))}"
                    ),
                    flow_ids=[r.id],
                    evidence=[flow_evidence(r)],
                )
            )
        result.checks.append(
            Check(
                id="payment.invoice-link",
                category="payment",
                status="not_observed" if not links else ("fail" if bad_links else "pass"),
                summary=(
                    f"{len(links)} invoice link(s) shown or opened, "
                    f"{len(bad_links)} pointing outside {', '.join(sorted(allowed))}"
                    if links
                    else "no invoice link was shown to the buyer"
                ),
                required=False,
                figures={"links": len(links), "offending": len(bad_links)},
            )
        )
    return result
