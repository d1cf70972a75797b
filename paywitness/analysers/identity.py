"""Who really answered, per role: the upstream identities seen, and one shared across roles.

A role is a company by host name; the certificate its servers present upstream says who runs
them. For every role, the distinct identities actually seen (the leaf certificate's subject
organisation and issuer, its SPKI SHA-256, the addresses dialled, the hosts) form the identity
table of the report. An identity seen answering a role allowed to process payments (commerce,
gateway) *and* a role that is not (social) means one operator behind both names, whatever the
profile's identity rules say: `payment.identity-shared` notes it as a warning, and fails the
payment category only when the profile asks (`payment.identity_shared: fail`).

Addresses alone never make two identities one: a CDN or a load balancer serves many companies
from the same addresses. An organisation or a public key does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["Identity", "analyse_identity", "identities_by_role"]

_NOT_A_COMPANY = ("browser", "paywitness")


@dataclass
class Identity:
    """One upstream identity: a certificate's organisation, issuer and public key."""

    organization: str | None
    issuer: str | None
    spki_sha256: str | None
    hosts: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    flow_ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.organization, self.issuer, self.spki_sha256)

    def to_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "issuer": self.issuer,
            "spki_sha256": self.spki_sha256,
            "hosts": sorted(self.hosts),
            "addresses": sorted(self.addresses),
            "flows": len(self.flow_ids),
        }


def _spki_by_cert(records: Sequence[FlowRecord]) -> dict[str, str]:
    """Leaf certificate SHA-256 -> its SPKI SHA-256 (the chain is noted once per connection)."""
    out: dict[str, str] = {}
    for r in records:
        chain = r.extra.get("server_chain") or []
        if chain and chain[0].get("sha256") and chain[0].get("spki_sha256"):
            out[str(chain[0]["sha256"])] = str(chain[0]["spki_sha256"])
    return out


def identities_by_role(
    records: Sequence[FlowRecord], classifier: Classifier | None = None
) -> dict[str, list[Identity]]:
    """Per role, the distinct upstream identities its flows were answered by (TLS only).

    The role is the one the host *name* belongs to (with a `classifier`): a flow an identity
    rule gave to another role still shows here under the name it was sent to, which is the
    point of the table."""
    spki = _spki_by_cert(records)
    table: dict[str, dict[tuple[str | None, str | None, str | None], Identity]] = {}
    for r in records:
        cert = r.extra.get("server_cert")
        if r.kind not in ("http", "websocket") or not cert or r.role in _NOT_A_COMPANY:
            continue
        ident = Identity(
            organization=cert.get("organization") or None,
            issuer=cert.get("issuer") or None,
            spki_sha256=spki.get(str(cert.get("sha256") or "")),
        )
        role = classifier.role_of(r.host)[0] if classifier is not None and r.host else r.role
        if role in _NOT_A_COMPANY:
            continue
        seen = table.setdefault(role or "unknown", {}).setdefault(ident.key, ident)
        if r.host and r.host not in seen.hosts:
            seen.hosts.append(r.host)
        if r.server_addr and r.server_addr not in seen.addresses:
            seen.addresses.append(r.server_addr)
        seen.flow_ids.append(r.id)
    return {role: list(ids.values()) for role, ids in sorted(table.items())}


def _same_operator(a: Identity, b: Identity) -> str | None:
    """What makes two identities one operator's, or None."""
    if a.spki_sha256 and a.spki_sha256 == b.spki_sha256:
        return f"the same public key (SPKI SHA-256 {a.spki_sha256[:16]}…)"
    if a.organization and a.organization == b.organization:
        return f"the same certificate organisation {a.organization!r}"
    return None


def analyse_identity(ctx: AnalysisContext) -> CategoryResult:
    result = CategoryResult(category="payment")
    table = identities_by_role(ctx.records, ctx.classifier)
    result.observed = {
        "identities_by_role": {role: [i.to_dict() for i in ids] for role, ids in table.items()}
    }
    if not table:
        result.checks.append(
            Check(
                id="payment.identity-shared",
                category="payment",
                status="not_observed",
                summary="no upstream certificate was seen (plain HTTP only): identities unknown",
                required=False,
            )
        )
        return result
    allowed = set(ctx.profile.payment.allowed_roles)
    shared: list[tuple[str, Identity, str, Identity, str]] = []
    for pay_role in sorted(r for r in table if r in allowed):
        for other in sorted(r for r in table if r not in allowed):
            for a in table[pay_role]:
                for b in table[other]:
                    why = _same_operator(a, b)
                    if why:
                        shared.append((pay_role, a, other, b, why))
    fail = ctx.profile.payment.identity_shared == "fail"
    for p_role, a, o_role, b, why in shared:
        result.findings.append(
            Finding(
                category="payment",
                severity="major" if fail else "info",
                rule_id="payment.identity-shared",
                message=(
                    f"{'' if fail else 'warning: '}{p_role} host(s) {', '.join(sorted(a.hosts))} "
                    f"and {o_role} host(s) {', '.join(sorted(b.hosts))} were answered by {why}: "
                    f"one operator may stand behind both"
                ),
                flow_ids=(a.flow_ids[:3] + b.flow_ids[:3]),
                evidence=[
                    {"role": p_role, **a.to_dict()},
                    {"role": o_role, **b.to_dict()},
                ],
            )
        )
    roles = ", ".join(f"{role}: {len(ids)}" for role, ids in table.items())
    if shared:
        pairs = "; ".join(
            f"{p} {', '.join(sorted(a.hosts))} ~ {o} {', '.join(sorted(b.hosts))} ({why})"
            for p, a, o, b, why in shared
        )
        summary = (
            f"{'' if fail else 'warning: '}an identity answering an allowed role also answered "
            f"another: {pairs} (identities per role: {roles})"
        )
    else:
        summary = f"no identity answered both an allowed role and another (per role: {roles})"
    result.checks.append(
        Check(
            id="payment.identity-shared",
            category="payment",
            status="fail" if shared and fail else "pass",
            summary=summary,
            required=False,
            figures={"shared": len(shared)},
        )
    )
    return result
