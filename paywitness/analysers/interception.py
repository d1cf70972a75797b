"""Interception gaps: traffic to a role's hosts that the proxy could not read (pinned TLS).

Each refused handshake (a `tls` record) still says what is knowable without decryption: the
name the client asked for (SNI), the address it asked to reach, the time, the step and the
client. `unreadable_by_role` lists them per role as "seen but not readable" (verdict.json's
payment `observed`, report.html, the terminal summary); `interception_check` turns those of
the target's roles during the purchase into a check that keeps the run from passing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, Check

__all__ = ["BEFORE_FIRST_STEP", "UNINSPECTED_ROLES", "interception_check", "unreadable_by_role"]

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


def unreadable_by_role(records: Sequence[FlowRecord]) -> dict[str, list[dict[str, Any]]]:
    """Per role (of the SNI host, by the run's classifier), each connection seen but not read."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.ts_start):
        if r.kind != "tls":
            continue
        e = r.extra
        out[r.role].append(
            {
                "record": r.id,
                "time": r.ts_start,
                "step": r.step,
                "test": r.test,
                "sni": e.get("sni"),
                "host": r.host,
                "requested": e.get("requested") or (f"{r.host}:{r.port}" if r.host else None),
                "server": r.server_addr,
                "client": e.get("client"),
                "alpn_offers": e.get("alpn_offers") or [],
                "error": r.error,
                "rule": r.rule,
            }
        )
    return dict(sorted(out.items()))
