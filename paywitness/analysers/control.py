"""The observer-effect control (`observation.control`): the purchase without the proxy, compared.

A control run (`--control`) replays each scenario in a browser of its own that reaches the target
directly, without the intercepting proxy (its own TLS client, its own HTTP versions), and records
every request that browser sent (`paywitness.control.ControlWatch`). This analyser compares them,
per replayed scenario, with the requests the proxy recorded for the same scenario (what the
verdict judged): the destinations by role in each step, and the payment-class calls. Any difference
means the shop behaves differently when it is observed, so what was judged may not be what a real
buyer gets: the check is `not_judged` (the run is `inconclusive`, never `pass`) and each differing
request is listed. A pure function over recorded data; it knows no shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, CategoryResult, Check, Finding

__all__ = [
    "COMPARED",
    "CONTROL_LEDGER_GLOB",
    "CONTROL_OUTCOME",
    "CONTROL_PROTOCOL",
    "CONTROL_REQUEST",
    "CONTROL_RUN",
    "CONTROL_SUFFIX",
    "analyse_control",
]

#: The control's records live apart from the run's (`ledger*.jsonl` never matches them).
CONTROL_LEDGER_GLOB = "control-ledger*.jsonl"
#: A scenario's control replay is recorded as test `<test id>#control`.
CONTROL_SUFFIX = "#control"
#: `client` record probes: one per scenario (replayed or why not), one per worker for the run,
#: one per request the control browser sent, one per answer it got (its HTTP and TLS versions).
CONTROL_OUTCOME = "control-outcome"
CONTROL_RUN = "control-run"
CONTROL_REQUEST = "control-request"
CONTROL_PROTOCOL = "control-protocol"
COMPARED = (
    "destinations (role, host) per step, the step before or after allowed",
    "payment-class calls (role, host, method, class)",
)
_NOT_COMPARED = {
    "seamless figures": "one control run a side gives no spread to compare within; the control "
    "is about what was requested, the seamless category judges the figures",
    "WebSocket connections and CORS preflights": "the browser's network events do not report "
    "them as requests, so neither side counts them",
}
_NOT_COUNTED = ("browser", "paywitness")
_Classified = tuple[FlowRecord, str, str | None]  # a request, its role and its payment class
_LISTED = 25  # differing requests listed in the check and finding (all are counted)


def _proxied(records: Sequence[FlowRecord], test: str) -> list[_Classified]:
    """What the proxy recorded for a scenario, with the role and class it was judged by."""
    return [
        (r, r.role, r.payment_class)
        for r in records
        if r.test == test
        and r.kind == "http"
        and r.method.upper() != "OPTIONS"
        and r.role not in _NOT_COUNTED
    ]


def _sent(ctx: AnalysisContext, records: Sequence[FlowRecord], test: str) -> list[_Classified]:
    """What the control browser sent for a scenario, classified by the run's one classifier as
    page requests (a re-judged profile applies to it too)."""
    out = []
    for r in records:
        if r.test != test or r.extra.get("probe") != CONTROL_REQUEST:
            continue
        c = ctx.classifier.classify(r.host, r.method, r.path or "/", page=True)
        if c.role not in _NOT_COUNTED:
            out.append((r, c.role, c.payment_class))
    return out


def _keys(
    requests: Sequence[tuple[FlowRecord, str, str | None]],
) -> dict[tuple[str, ...], list[Any]]:
    """Destination keys (step, role, host) and payment keys (role, host, method, class; in
    whatever step), each with its requests."""
    out: dict[tuple[str, ...], list[Any]] = {}
    for r, role, payment_class in requests:
        out.setdefault(("destination", r.step, role, r.host), []).append((r, role, payment_class))
        if payment_class is not None:
            key = ("payment", role, r.host, r.method.upper(), payment_class)
            out.setdefault(key, []).append((r, role, payment_class))
    return out


def _step_order(*sides: Sequence[FlowRecord]) -> dict[str, int]:
    """Each step's place in the purchase, by when it was first seen on either side."""
    order: dict[str, int] = {}
    for r in sorted((r for side in sides for r in side), key=lambda r: r.ts_start):
        order.setdefault(r.step, len(order))
    return order


def _unmatched(
    keys: dict[tuple[str, ...], list[Any]],
    other: dict[tuple[str, ...], list[Any]],
    order: dict[str, int],
) -> list[tuple[str, ...]]:
    """Keys the other side lacks. A destination seen there in the step before or after counts as
    the same: the browser labels a request by the step it finished in, so one that started as
    the buyer moved on falls either side of the step's mark."""
    missing = []
    for key in set(keys) - set(other):
        if key[0] == "destination":
            _, step, role, host = key
            near = {k[1] for k in other if k[0] == "destination" and k[2] == role and k[3] == host}
            if any(abs(order[s] - order[step]) <= 1 for s in near):
                continue
        missing.append(key)
    # Payment-class calls first: a request listed once is named by what matters most.
    return sorted(missing, key=lambda k: (k[0] != "payment", k))


def _differences(
    test: str,
    proxied: Sequence[_Classified],
    control: Sequence[_Classified],
) -> list[dict[str, Any]]:
    mine, theirs = _keys(proxied), _keys(control)
    order = _step_order([r for r, _, _ in proxied], [r for r, _, _ in control])
    diffs: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for side, keys, other in (
        ("with the proxy only", mine, theirs),
        ("without the proxy only", theirs, mine),
    ):
        for key in _unmatched(keys, other, order):
            for r, role, payment_class in keys[key]:
                item = (side, r.step, role, r.host, r.method, r.path)
                if item in seen:
                    continue
                seen.add(item)
                diffs.append(
                    {
                        "test": test,
                        "side": side,
                        "what": "payment-class call" if key[0] == "payment" else "destination",
                        "step": r.step,
                        "role": role,
                        "host": r.host,
                        "method": r.method,
                        "path": r.path,
                        "url": r.url,
                        "payment_class": payment_class,
                        "flow_id": r.id,
                    }
                )
    return diffs


def _line(d: dict[str, Any]) -> str:
    if "error" in d:
        return f"{d['test']}: without the proxy the scenario did not complete: {d['error']}"
    pay = f", payment-class {d['payment_class']}" if d.get("payment_class") else ""
    return (
        f"{d['side']}: {d['method']} {d['host']}{d['path'].split('?', 1)[0]} "
        f"(role {d['role']}, step {d['step']}{pay})"
    )


def analyse_control(ctx: AnalysisContext) -> CategoryResult | None:
    """The `observation.control` check, or None when the run asked for no control."""
    control = ctx.control
    if not control:
        return None
    runs = [r for r in control if r.extra.get("probe") == CONTROL_RUN]
    outcomes = [r for r in control if r.extra.get("probe") == CONTROL_OUTCOME]
    result = CategoryResult("observation")
    unavailable = sorted({str(r.extra.get("reason")) for r in runs if not r.extra.get("available")})
    replayed: dict[str, dict[str, Any]] = {}
    not_replayed: dict[str, str] = {}
    for o in outcomes:
        test = str(o.extra.get("of") or "")
        if o.extra.get("outcome") == "not_replayed":
            not_replayed[test] = str(o.extra.get("reason") or "")
        else:
            replayed[test] = {
                "outcome": o.extra.get("outcome"),
                "seconds": o.extra.get("seconds"),
                "error": o.extra.get("error"),
            }
    seconds = round(sum(float(v["seconds"] or 0.0) for v in replayed.values()), 2)
    protocols: dict[str, int] = {}
    for r in control:
        if r.extra.get("probe") == CONTROL_PROTOCOL:
            version = f"{r.http_version or '?'} over {r.extra.get('tls') or 'no TLS'}"
            protocols[version] = protocols.get(version, 0) + 1
    figures: dict[str, Any] = {
        "compared": list(COMPARED),
        "not_compared": dict(_NOT_COMPARED),
        "replayed": replayed,
        "not_replayed": not_replayed,
        "control_seconds": seconds,
        "control_protocols": dict(sorted(protocols.items())),
    }
    if not replayed:
        why = "; ".join(unavailable) or "; ".join(
            f"{t}: {w}" for t, w in sorted(not_replayed.items())
        )
        result.checks.append(
            Check(
                id="observation.control",
                category="observation",
                status="not_judged",
                summary=f"no control run without the proxy ({why or 'no scenario ran'}); the "
                "run was judged without one",
                required=False,  # stated, as asked; the rest of the verdict stands on its own
                figures=figures,
            )
        )
        return result
    diffs: list[dict[str, Any]] = []
    for test, info in sorted(replayed.items()):
        if info["outcome"] == "failed":
            diffs.append({"test": test, "error": info["error"] or "no reason given"})
        diffs += _differences(
            test, _proxied(ctx.records, test), _sent(ctx, control, test + CONTROL_SUFFIX)
        )
    figures["differences"] = len(diffs)
    figures["differing_requests"] = diffs[:_LISTED]
    n = len(replayed)
    skipped = f"; not replayed: {len(not_replayed)}" if not_replayed else ""
    if not diffs:
        result.checks.append(
            Check(
                id="observation.control",
                category="observation",
                status="pass",
                summary=f"without the proxy, {n} scenario(s) reached the same destinations by "
                f"role in every step and made the same payment-class calls ({seconds:.1f} s of "
                f"control runs{skipped})",
                figures=figures,
            )
        )
        return result
    listed = "; ".join(_line(d) for d in diffs[:5]) + (" ..." if len(diffs) > 5 else "")
    result.checks.append(
        Check(
            id="observation.control",
            category="observation",
            status="not_judged",
            summary=f"the shop behaved differently without the proxy ({len(diffs)} difference(s) "
            f"in {len({d['test'] for d in diffs})} scenario(s): {listed}): what the proxy "
            "observed may not be what a real buyer gets, so nothing observed can pass",
            figures=figures,
        )
    )
    result.findings.append(
        Finding(
            category="observation",
            severity="major",
            rule_id="observation.control",
            message=f"the purchase differs with and without the intercepting proxy: {listed}",
            flow_ids=[str(d["flow_id"]) for d in diffs if "flow_id" in d][:_LISTED],
            evidence=diffs[:_LISTED],
        )
    )
    return result
