"""Payment artefacts: values the allowed roles minted never reach a role that may not hold them.

The artefact watch addon (proxy_addons/artefact_watch.py) harvests order ids, charge ids, card
tokens and idempotency keys from the allowed roles' answers and searches every later flow for
them, in every encoding, as the canary watch does for the buyer's data. It leaves
`artefacts_minted` on the minting record and `artefact_hits` on every record that carried one;
this rule judges them by the record's role, whether or not the endpoint was ever listed.
"""

from __future__ import annotations

from typing import Any

from paywitness.analysers.payment import flow_evidence
from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["allowed_holders", "analyse_artefacts", "artefact_hits"]

_IGNORED_ROLES = ("browser", "paywitness")


def allowed_holders(ctx: AnalysisContext, name: str) -> set[str]:
    """The roles that may hold artefact `name`: payment's allowed roles plus its `may_reach`."""
    policy = ctx.profile.payment
    return set(policy.allowed_roles) | set(policy.artefacts.may_reach.get(name, []))


def artefact_hits(r: FlowRecord) -> list[dict[str, Any]]:
    hits = r.extra.get("artefact_hits")
    return [h for h in hits if isinstance(h, dict)] if isinstance(hits, list) else []


def _how(hit: dict[str, Any]) -> str:
    """`verbatim`, or the encoding chain (`base64(charge-id)`) the artefact was found in."""
    chain = str(hit.get("chain") or "")
    return "verbatim" if chain in ("", hit.get("name"), "marker") else f"as {chain}"


def analyse_artefacts(ctx: AnalysisContext) -> CategoryResult:
    """Every artefact hit on a record whose role may not hold that artefact is a finding."""
    result = CategoryResult(category="payment")
    records = [
        r for r in ctx.records if r.kind in ("http", "websocket") and r.role not in _IGNORED_ROLES
    ]
    minted: dict[str, FlowRecord] = {}
    minted_names: dict[str, int] = {}
    for r in records:
        for m in r.extra.get("artefacts_minted") or []:
            if isinstance(m, dict) and m.get("hash") not in minted:
                minted[str(m.get("hash"))] = r
                minted_names[str(m.get("name"))] = minted_names.get(str(m.get("name")), 0) + 1
    leaks = 0
    held_by: dict[str, int] = {}
    for r in records:
        bad = [h for h in artefact_hits(r) if r.role not in allowed_holders(ctx, str(h["name"]))]
        if artefact_hits(r):
            held_by[r.role] = held_by.get(r.role, 0) + len(artefact_hits(r))
        if not bad:
            continue
        leaks += 1
        origin = [minted[str(h.get("hash"))] for h in bad if str(h.get("hash")) in minted]
        what = "; ".join(
            f"{h['name']} ({_how(h)} in {h.get('location')}"
            + (f", minted by {h['minted_by']}" if h.get("minted_by") else "")
            + ")"
            for h in bad
        )
        result.findings.append(
            Finding(
                category="payment",
                severity="critical",
                rule_id="payment.artefact-reached-role",
                message=(
                    f"{r.method} {r.url} in step {r.step!r} carried payment artefact(s) to "
                    f"{r.role!r}, a role that may not hold them: {what}"
                ),
                # Where it was minted first, the offending flow last (as every payment finding).
                flow_ids=[*sorted({o.id for o in origin}), r.id],
                evidence=[
                    *(flow_evidence(o) for o in {o.id: o for o in origin}.values()),
                    {**flow_evidence(r), "artefacts": bad},
                ],
            )
        )
    result.observed["artefacts"] = {
        "minted": dict(sorted(minted_names.items())),
        "hits_by_role": dict(sorted(held_by.items())),
    }
    n = len(minted)
    result.checks.append(
        Check(
            id="payment.artefacts",
            category="payment",
            status="not_observed" if not n else ("fail" if leaks else "pass"),
            summary=(
                f"{leaks} request(s) carried payment artefacts to a role that may not hold them"
                if leaks
                else f"{n} payment artefact(s) minted "
                f"({', '.join(f'{k} {v}' for k, v in sorted(minted_names.items()))}), "
                "none reached a role that may not hold it"
                if n
                else "no payment artefact was minted in what the proxy saw"
            ),
            required=False,
            figures={"minted": n, "leaks": leaks, "by_name": dict(sorted(minted_names.items()))},
        )
    )
    _unmatched_fields(ctx, records, minted_names, result)
    return result


def _unmatched_fields(
    ctx: AnalysisContext,
    records: list[FlowRecord],
    minted_names: dict[str, int],
    result: CategoryResult,
) -> None:
    """An artefact field of the profile that matched no response: say so, naming its path."""
    fields = ctx.profile.payment.artefacts.fields
    allowed = set(ctx.profile.payment.allowed_roles)
    if not fields or not any(r.role in allowed and r.kind == "http" for r in records):
        return
    unmatched = [
        f"payment.artefacts.fields[{i}] ({f.name}: {f.path}"
        + (f" in {f.endpoint} answers" if f.endpoint else "")
        + ")"
        for i, f in enumerate(fields)
        if f.name not in minted_names
    ]
    result.checks.append(
        Check(
            id="payment.artefact-fields",
            category="payment",
            status="not_observed" if unmatched else "pass",
            summary=(
                "matched no response of an allowed role (check the path against a real "
                "answer): " + "; ".join(unmatched)
                if unmatched
                else f"every artefact field of the profile ({len(fields)}) matched a response"
            ),
            required=False,
            figures={"fields": len(fields), "unmatched": len(unmatched)},
        )
    )
