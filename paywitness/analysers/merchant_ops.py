"""Merchant operations: the displays the buyer saw (price, stock, shop, orders) came from commerce.

Each value a display showed is matched to the latest recorded response, before the capture, that
carried the same value (and the same key: SKU, order id) in the profile's field; the role that
served that response fed the display. Displays with an `authority` must also show what that role
last said about the same record (the Orders tab shows the status commerce holds).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from paywitness.expressions import parse_amount, parse_expression
from paywitness.ledger import FlowRecord
from paywitness.profile import DisplaySpec
from paywitness.seamless.digest import parse_shown, value_hash
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = ["analyse_merchant_ops"]


@dataclass(frozen=True)
class _Shown:
    key: str | None
    value: str
    ts: float
    step: str
    capture: FlowRecord


def _carriers(
    ctx: AnalysisContext, spec: DisplaySpec
) -> list[tuple[FlowRecord, list[dict[str, str]]]]:
    out = []
    for r in ctx.http():
        digest = r.extra.get("display_digest")
        if isinstance(digest, dict) and spec.name in digest.get("displays", []):
            out.append((r, list(digest.get("objects", []))))
    out.sort(key=lambda x: x[0].ts_end)
    return out


def _shown(ctx: AnalysisContext, spec: DisplaySpec) -> list[_Shown]:
    out = []
    for r in ctx.records:
        if (
            r.kind != "client"
            or r.extra.get("probe") != "display"
            or r.extra.get("name") != spec.name
        ):
            continue
        for item in r.extra.get("values", []):
            if spec.parse == "amount":
                amount = parse_amount(item.get("raw"), spec.locale)
                value = None if amount is None else str(amount)
            else:
                value = parse_shown(item.get("raw"), spec.parse)
            if value is None:
                continue
            key = item.get("key")
            out.append(
                _Shown(
                    key=str(key) if key else None,
                    value=value,
                    ts=r.ts_start,
                    step=r.step,
                    capture=r,
                )
            )
    return out


def _computed(obj: dict[str, str], spec: DisplaySpec) -> Decimal | None:
    """The expression over this object's served (plain) fields; None if one is missing."""
    values: dict[str, Decimal] = {}
    for name in spec.expression_fields():
        raw = obj.get("=" + name)
        try:
            values[name] = Decimal(raw) if raw is not None else Decimal("nan")
        except InvalidOperation:
            return None
        if values[name].is_nan():
            return None
    assert spec.expression is not None
    return parse_expression(spec.expression).evaluate(values)


def _same_amount(shown: str, computed: Decimal | None) -> bool:
    try:
        return computed is not None and Decimal(shown) == computed
    except InvalidOperation:
        return False


def _matches(obj: dict[str, str], spec: DisplaySpec, shown: _Shown) -> bool:
    if spec.expression is not None:
        if not _same_amount(shown.value, _computed(obj, spec)):
            return False
    elif obj.get(spec.field or "") != value_hash(shown.value):
        return False
    if spec.key_field is not None:
        return shown.key is not None and obj.get(spec.key_field) == value_hash(shown.key)
    return True


def _unknown_fields(
    carriers: list[tuple[FlowRecord, list[dict[str, str]]]], spec: DisplaySpec
) -> list[str]:
    """Expression fields no response of the display's endpoints carried."""
    if not carriers:
        return []
    seen = {k[1:] for _, objects in carriers for o in objects for k in o if k.startswith("=")}
    return [n for n in spec.expression_fields() if n not in seen]


def _judge_display(
    ctx: AnalysisContext, spec: DisplaySpec, result: CategoryResult, index: int = 0
) -> None:
    shown = _shown(ctx, spec)
    cid = f"merchant_ops.display.{spec.name}"
    unknown = _unknown_fields(_carriers(ctx, spec), spec) if spec.expression else []
    if unknown:
        result.checks.append(
            Check(
                id=cid,
                category="merchant_ops",
                status="not_observed",
                summary=(
                    f"displays[{index}].expression {spec.expression!r} reads "
                    f"{', '.join(map(repr, unknown))}, which no response of its endpoints "
                    "carried: check the field names against a real answer"
                ),
                required=spec.required,
                figures={"unknown_fields": unknown},
            )
        )
        return
    fed_by = sorted(spec.fed_by)
    if not shown:
        result.checks.append(
            Check(
                id=cid,
                category="merchant_ops",
                status="not_observed",
                summary=f"{spec.name}: the display was never seen on screen",
                # A phone or proxy-only run sees no screen: not judged rather than unobserved.
                required=spec.required and any(r.kind == "client" for r in ctx.records),
            )
        )
        return
    carriers = _carriers(ctx, spec)
    by_role: Counter[str] = Counter()
    bad: list[tuple[_Shown, FlowRecord | None]] = []
    distinct: dict[tuple[str | None, str], str] = {}
    for s in shown:
        fed: FlowRecord | None = None
        for r, objects in carriers:
            if r.ts_end <= s.ts + 0.001 and any(_matches(o, spec, s) for o in objects):
                fed = r  # the latest such response before the capture wins
        role = fed.role if fed is not None else "unmatched"
        distinct[(s.key, s.value)] = role
        if role not in spec.fed_by:
            bad.append((s, fed))
    by_role.update(distinct.values())
    n = len(distinct)
    from_ok = sum(v for k, v in by_role.items() if k in spec.fed_by)
    spread = ", ".join(f"{v} from {k}" for k, v in sorted(by_role.items()))
    summary = (
        f"{spec.name}: {from_ok}/{n} value(s) shown were served by {'/'.join(fed_by)} "
        f"({spread}; threshold {n}/{n})"
    )
    result.checks.append(
        Check(
            id=cid,
            category="merchant_ops",
            status="fail" if bad else "pass",
            summary=summary,
            required=spec.required,
            figures={
                "shown": n,
                "by_role": dict(sorted(by_role.items())),
                "threshold": n,
                "fed_by": fed_by,
            },
        )
    )
    if bad:
        flows = sorted({r.id for _, r in bad if r is not None})
        examples = []
        for s, fed in bad[:5]:
            who = f"{fed.role} ({fed.url})" if fed is not None else "no recorded response"
            examples.append(f"{s.key or ''}={s.value} in {s.step} from {who}")
        result.findings.append(
            Finding(
                category="merchant_ops",
                severity="major",
                rule_id="merchant_ops.display-role",
                message=f"{spec.name} showed {len(bad)} value(s) not served by {'/'.join(fed_by)}: "
                + "; ".join(examples),
                flow_ids=flows,
                evidence=[
                    {
                        "flow_id": r.id,
                        "step": r.step,
                        "method": r.method,
                        "url": r.url,
                        "role": r.role,
                        "status": r.status,
                    }
                    for r in {r.id: r for _, r in bad if r is not None}.values()
                ],
            )
        )
    if spec.authority is not None:
        _judge_authority(spec, shown, carriers, result)


def _judge_authority(
    spec: DisplaySpec,
    shown: list[_Shown],
    carriers: list[tuple[FlowRecord, list[dict[str, str]]]],
    result: CategoryResult,
) -> None:
    assert spec.key_field is not None
    assert spec.field is not None  # the profile refuses authority with an expression
    cid = f"merchant_ops.authority.{spec.name}"
    wrong, checked = [], 0
    latest_shown = {s.key: s for s in shown if s.key}
    for key, s in latest_shown.items():
        held: dict[str, str] | None = None
        for r, objects in carriers:
            if r.role != spec.authority or r.ts_end > s.ts + 0.001:
                continue
            for o in objects:
                if o.get(spec.key_field) == value_hash(key) and spec.field in o:
                    held = o
        if held is None:
            continue
        checked += 1
        if held[spec.field] != value_hash(s.value):
            said = held.get("=" + spec.field, "a different value")
            wrong.append(f"{key}: shows {s.value!r}, {spec.authority} holds {said!r}")
    if not checked:
        result.checks.append(
            Check(
                id=cid,
                category="merchant_ops",
                status="not_observed",
                required=False,
                summary=f"{spec.name}: no {spec.authority} answer about the records shown",
            )
        )
        return
    result.checks.append(
        Check(
            id=cid,
            category="merchant_ops",
            status="fail" if wrong else "pass",
            summary=(
                f"{spec.name}: {checked - len(wrong)}/{checked} record(s) show what "
                f"{spec.authority} holds (threshold {checked}/{checked})"
                + (": " + "; ".join(wrong[:5]) if wrong else "")
            ),
            figures={"checked": checked, "differing": len(wrong), "threshold": 0},
        )
    )
    if wrong:
        result.findings.append(
            Finding(
                category="merchant_ops",
                severity="major",
                rule_id="merchant_ops.stale-display",
                message=f"{spec.name} differs from {spec.authority}: " + "; ".join(wrong[:5]),
            )
        )


def analyse_merchant_ops(ctx: AnalysisContext) -> CategoryResult:
    """Every display the profile lists was fed by the roles it names, with current values."""
    result = CategoryResult(category="merchant_ops")
    result.observed = {"displays": [d.name for d in ctx.profile.displays]}
    for i, spec in enumerate(ctx.profile.displays):
        _judge_display(ctx, spec, result, i)
    return result
