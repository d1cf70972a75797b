"""Data separation: each planted canary reached only the roles the profile allows for its kind."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, CheckStatus, Finding

__all__ = ["PLANT_METHOD", "analyse_data", "canary_evidence"]

#: `method` of the ledger records that list what a test planted (kinds and salted hashes).
PLANT_METHOD = "PLANT"
_JUDGED_KINDS = ("http", "websocket", "client")
_IGNORED_ROLES = ("browser", "paywitness")


def canary_evidence(r: FlowRecord, hit: dict[str, Any]) -> dict[str, object]:
    """The facts of one canary hit a finding shows (the excerpt is masked by the scanner)."""
    return {
        "flow_id": r.id,
        "kind": r.kind,
        "step": r.step,
        "method": r.method,
        "url": r.url,
        "role": r.role,
        "server": r.server_addr,
        "status": r.status,
        "canary": hit.get("kind"),
        "chain": hit.get("encoding") or hit.get("chain"),
        "location": hit.get("location"),
        "decoding": hit.get("decoding"),
        "canary_hash": hit.get("canary_hash"),
        "excerpt": hit.get("excerpt"),
    }


def _channel(r: FlowRecord) -> str:
    if r.kind == "client":
        return f"browser {r.method}"
    if r.kind == "websocket":
        return f"WebSocket {r.extra.get('direction', '')}".rstrip()
    return f"{r.method} {r.url}"


def _noise_note(r: FlowRecord) -> str:
    rule = r.extra.get("noise_overruled")
    return f" (its host is listed as noise, {rule}, but a page sent it)" if rule else ""


def analyse_data(ctx: AnalysisContext) -> CategoryResult:
    allowed = {str(k): set(v) for k, v in ctx.profile.data.allowed_roles.items()}
    result = CategoryResult(category="data")
    planted: dict[str, str] = {}  # salted hash -> kind
    for r in ctx.records:
        if r.kind == "plant" and r.method == PLANT_METHOD:
            for c in r.extra.get("planted") or []:
                planted[str(c.get("hash"))] = str(c.get("kind"))
    observed: dict[str, set[str]] = defaultdict(set)  # kind -> roles that received it
    leaks: list[tuple[FlowRecord, dict[str, Any]]] = []
    partials: list[tuple[FlowRecord, dict[str, Any]]] = []
    for r in ctx.records:
        if r.kind not in _JUDGED_KINDS or r.role in _IGNORED_ROLES or not r.canary_hits:
            continue
        for hit in r.canary_hits:
            kind = str(hit.get("kind"))
            if r.role in allowed.get(kind, set()):
                if not hit.get("partial"):
                    observed[kind].add(r.role)
            elif hit.get("partial"):
                # Part of a card (first 6, last 4) is reported; a word of a name is too common
                # (a product, a seller, another user) to be worth a finding.
                if kind == "card":
                    partials.append((r, hit))
            else:
                observed[kind].add(r.role)
                leaks.append((r, hit))

    kinds_planted = sorted(set(planted.values()))
    result.observed = {
        "planted": kinds_planted,
        "received_by": {k: sorted(v) for k, v in sorted(observed.items())},
        "allowed_roles": {k: sorted(v) for k, v in sorted(allowed.items())},
        "leaks": len(leaks),
        "partial_matches": len(partials),
    }

    seen = sorted(observed)
    if not kinds_planted:
        # Nothing to search for (e.g. a proxy-only run with no canary file): not judged, never
        # counted as passed. Planted but never seen in traffic is `not_observed` below.
        result.observed["reason"] = "no canary was planted"
        return result
    status: CheckStatus
    if not seen:
        status = "not_observed"
        summary = (
            f"{len(kinds_planted)} canary kind(s) planted but none appeared in any traffic "
            "(nothing was typed, or nothing was sent)"
        )
    else:
        status = "pass"
        summary = (
            f"canaries seen in traffic: {', '.join(seen)} (planted: {', '.join(kinds_planted)})"
        )
    result.checks.append(
        Check(
            id="data.observed",
            category="data",
            status=status,
            summary=summary,
            figures={"planted": len(kinds_planted), "observed": len(seen)},
        )
    )

    reported: set[tuple[str, str, str, str]] = set()
    for r, hit in leaks:
        kind = str(hit.get("kind"))
        chain = str(hit.get("encoding") or hit.get("chain"))
        location = str(hit.get("location"))
        key = (r.id, kind, chain, location)
        if key in reported:
            continue
        reported.add(key)
        may = ", ".join(sorted(allowed.get(kind, set()))) or "no role"
        result.findings.append(
            Finding(
                category="data",
                severity="critical" if kind == "card" else "major",
                rule_id="data.canary-leak",
                message=(
                    f"the buyer's {kind} reached role {r.role!r} as `{chain}` in {location} "
                    f"({_channel(r)}, step {r.step!r}); {kind} may only reach {may}"
                    + _noise_note(r)
                ),
                flow_ids=[r.id],
                evidence=[canary_evidence(r, hit)],
            )
        )
    leaked_kinds = sorted({str(h.get("kind")) for _, h in leaks})
    result.checks.append(
        Check(
            id="data.separation",
            category="data",
            status="not_observed" if not seen else ("fail" if leaks else "pass"),
            summary=(
                f"{len(reported)} leak(s) of {', '.join(leaked_kinds)} to roles not allowed"
                if leaks
                else "every canary seen reached only roles allowed for its kind"
                if seen
                else "no canary seen in traffic to judge"
            ),
            figures={"leaks": len(reported), "kinds": leaked_kinds},
        )
    )

    for r, hit in partials:
        chain = str(hit.get("encoding") or hit.get("chain"))
        result.findings.append(
            Finding(
                category="data",
                severity="info",
                rule_id="data.partial-match",
                message=(
                    f"part of the buyer's card number (`{chain}`, first 6 or last 4 digits) "
                    f"reached role {r.role!r} in {hit.get('location')} ({_channel(r)}); "
                    "not a leak of the whole value"
                ),
                flow_ids=[r.id],
                evidence=[canary_evidence(r, hit)],
            )
        )
    return result
