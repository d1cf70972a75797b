"""Interception gaps: traffic to a role's hosts that the proxy could not read (pinned TLS)."""

from __future__ import annotations

from collections import Counter

from paywitness.verdict import AnalysisContext, Check

__all__ = ["BEFORE_FIRST_STEP", "UNINSPECTED_ROLES", "interception_check"]

#: Roles whose traffic is judged; a refused handshake to one of them hides evidence.
UNINSPECTED_ROLES = frozenset({"social", "commerce", "gateway", "third_party"})
#: The recorder's step before any step began: a refusal then is setting up (a phone whose
#: certificate is not installed yet), not the purchase, and hides none of its traffic.
BEFORE_FIRST_STEP = "unlabelled"


def interception_check(ctx: AnalysisContext) -> Check | None:
    """A required `not_observed` check when clients refused the proxy for a role's hosts."""
    failed = [
        r
        for r in ctx.records
        if r.kind == "tls" and r.role in UNINSPECTED_ROLES and r.step != BEFORE_FIRST_STEP
    ]
    if not failed:
        return None
    hosts = Counter(f"{r.host} ({r.role})" for r in failed)
    listed = ", ".join(f"{h} x{n}" if n > 1 else h for h, n in sorted(hosts.items()))
    return Check(
        id="interception.tls-refused",
        category="payment",
        status="not_observed",
        summary=(
            f"{len(failed)} TLS handshake(s) to the target's hosts were refused by the client "
            f"({listed}): the app does not trust the proxy's certificate (certificate pinning, "
            "or the CA is not installed), so that traffic could not be inspected"
        ),
        figures={"refused": len(failed), "hosts": dict(sorted(hosts.items()))},
    )
