"""The observer-effect control (`observation.control`): the purchase without the proxy, compared.

A control run (`--control`) replays each scenario in a browser of its own that reaches the target
directly, without the intercepting proxy (its own TLS client, its own HTTP versions), and records
every request that browser sent (`paywitness.control.ControlWatch`); its page is observed from
the browser side as the proxied run's is (continuity probe, initiator watch, trace), so the proxy
is what differs. This analyser compares them with what was recorded for the same scenarios under
observation (what the verdict judged):

- per replayed scenario, the destinations by role in each step, and the payment-class calls;
- across the replayed scenarios, each timing the browser gives (`buy_to_checkout_ready_ms`,
  `pay_to_confirmation_ms`, `open_<tab>_tab_ms`, `pay_to_first_feedback_ms`; not
  `checkout_document_ms`, which the proxy times): one value a side per scenario, judged by the
  seamless baseline's own rule (`paywitness.seamless.stats.compare_samples` with the profile's
  `timing_factor`, `alpha` and `timing_noticeable_ms`) in both directions, since the observed
  purchase being noticeably slower or faster than the unobserved one are both observer effects.
  A figure with fewer pairs than the rank test needs to ever reach `alpha` is stated as not
  compared, with its count; it neither passes nor blocks the check.

Any difference means the shop behaves differently when it is observed, so what was judged may not
be what a real buyer gets: the check is `not_judged` (the run is `inconclusive`, never `pass`) and
each differing request or figure is listed. A pure function over recorded data; it knows no shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paywitness.ledger import FlowRecord
from paywitness.moments import TIMED_SPANS
from paywitness.profile import SeamlessPolicy
from paywitness.seamless.figures import group_by_test, run_figures
from paywitness.seamless.stats import Comparison, compare_samples, describe, min_p_value
from paywitness.verdict import AnalysisContext, CategoryResult, Check, CheckStatus, Finding

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
    "the browser's timings (moment to moment, Pay to first feedback) across the replayed "
    "scenarios, one value a side per scenario, by the seamless baseline's rule both ways",
)
_NOT_COMPARED = {
    "checkout_document_ms": "the proxy times the document's answer, and the control has none",
    "Web Vitals, counts, screens": "the seamless category judges them; the control compares "
    "what was requested and how long the buyer waited",
    "the browser-side observers' own cost": "the control page carries them too (continuity "
    "probe, initiator watch, trace), so that the timings measure the proxy alone",
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


_SPANS = frozenset(s.figure for s in TIMED_SPANS)
_Pairs = tuple[list[str], list[float], list[float]]  # scenarios, with the proxy, without it


def _timed_by_browser(name: str) -> bool:
    """A timing the browser gives (moments, the probe's feedback), not the proxy's record."""
    return (
        name in _SPANS
        or name == "pay_to_first_feedback_ms"
        or (name.startswith("open_") and name.endswith("_tab_ms"))
    )


def _pairs(ctx: AnalysisContext, tests: Sequence[str]) -> tuple[dict[str, _Pairs], list[str]]:
    """Each browser-timed figure's pairs: the scenarios timed on both sides and their values; and
    the figures timed on one side only (how many scenarios each side timed)."""
    wanted = set(tests)
    observed = group_by_test(r for r in ctx.records if r.test in wanted)
    control = group_by_test(
        (r for r in ctx.control if (r.test or "").removesuffix(CONTROL_SUFFIX) in wanted),
        strip=CONTROL_SUFFIX,
    )
    pairs: dict[str, _Pairs] = {}
    sides: dict[str, list[int]] = {}
    for test in sorted(wanted):
        mine = run_figures(test, observed.get(test, [])).timings_ms
        theirs = run_figures(test, control.get(test, [])).timings_ms
        for name in {*mine, *theirs}:
            if not _timed_by_browser(name):
                continue
            count = sides.setdefault(name, [0, 0])
            count[0] += name in mine
            count[1] += name in theirs
            if name in mine and name in theirs:
                scenarios, a, b = pairs.setdefault(name, ([], [], []))
                scenarios.append(test)
                a.append(mine[name])
                b.append(theirs[name])
    unpaired = [
        f"{name}: timed in {a} scenario(s) with the proxy, {b} without it"
        + (f" (only the {len(pairs[name][0])} timed on both sides count)" if name in pairs else "")
        for name, (a, b) in sorted(sides.items())
        if a != b or name not in pairs
    ]
    return pairs, unpaired


def _pairs_needed(alpha: float) -> int:
    """The fewest pairs for which the rank test can ever reach `alpha`."""
    return next((n for n in range(1, 51) if min_p_value(n, n) <= alpha), 51)


def _ms(v: float) -> str:
    return f"{v:+.0f}" if v else "0"


def _timing_text(name: str, slower: Comparison, faster: Comparison) -> str:
    """One figure both ways: both sides' medians, ranges and n, the difference, both p-values."""
    return (
        f"{name}: with the proxy {slower.target.text(' ms')}, without it "
        f"{slower.baseline.text(' ms')}, difference {_ms(slower.difference)} ms; one-sided "
        f"Mann-Whitney p={slower.p_value:.3f} slower with the proxy, p={faster.p_value:.3f} "
        "slower without it"
    )


def _judge_timings(
    pairs: dict[str, _Pairs], p: SeamlessPolicy
) -> tuple[dict[str, Any], list[str], list[str], list[str]]:
    """Each figure judged both ways by the seamless rule: its figures, and the lines of the
    figures that differ, of those within the noise, and of those with too few pairs."""
    figures: dict[str, Any] = {}
    differ: list[str] = []
    within: list[str] = []
    too_few: list[str] = []
    needed = _pairs_needed(p.alpha)
    for name, (tests, observed, unobserved) in sorted(pairs.items()):
        n = len(tests)
        entry: dict[str, Any] = {
            "pairs": n,
            "scenarios": tests,
            "with_proxy": describe(observed).to_dict(),
            "without_proxy": describe(unobserved).to_dict(),
        }
        figures[name] = entry
        if n < needed:
            entry["status"] = "not_compared"
            too_few.append(
                f"{name} ({n} pair(s); the rank test needs {needed} to reach alpha {p.alpha:g})"
            )
            continue
        rule = {"ratio": p.timing_factor, "alpha": p.alpha, "noticeable": p.timing_noticeable_ms}
        slower = compare_samples(observed, unobserved, **rule)
        faster = compare_samples(unobserved, observed, **rule)
        entry.update(
            status="differs" if slower.worse or faster.worse else "within_noise",
            difference_ms=slower.difference,
            slower_with_proxy=slower.to_dict(),
            slower_without_proxy=faster.to_dict(),
        )
        text = _timing_text(name, slower, faster)
        if slower.worse or faster.worse:
            side = "with" if slower.worse else "without"
            differ.append(f"{text}: noticeably slower {side} the proxy")
        else:
            within.append(text)
    return figures, differ, within, too_few


def _check(status: CheckStatus, summary: str, figures: dict[str, Any], **extra: Any) -> Check:
    """The `observation.control` check."""
    return Check(
        id="observation.control",
        category="observation",
        status=status,
        summary=summary,
        figures=figures,
        **extra,
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
            _check(
                "not_judged",
                f"no control run without the proxy ({why or 'no scenario ran'}); the run was "
                "judged without one",
                figures,
                required=False,  # stated, as asked; the rest of the verdict stands on its own
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
    completed = [t for t, info in replayed.items() if info["outcome"] == "completed"]
    pairs, unpaired = _pairs(ctx, completed)
    timings, slow, within, too_few = _judge_timings(pairs, ctx.profile.seamless)
    figures["timings"] = timings
    figures["timings_not_compared"] = too_few + unpaired
    p = ctx.profile.seamless
    rule = (
        f"the seamless rule both ways: {p.timing_factor:g}x and {p.timing_noticeable_ms:g} ms, "
        f"alpha {p.alpha:g}"
    )
    timed = f"; timings within the noise ({rule}): {' | '.join(within)}" if within else ""
    if too_few or unpaired:
        timed += f"; timings not compared: {'; '.join(too_few + unpaired)}"
    if not pairs and not unpaired:
        timed += "; no timing was recorded on either side"
    n = len(replayed)
    skipped = f"; not replayed: {len(not_replayed)}" if not_replayed else ""
    if not diffs and not slow:
        result.checks.append(
            _check(
                "pass",
                f"without the proxy, {n} scenario(s) reached the same destinations by role in "
                f"every step and made the same payment-class calls ({seconds:.1f} s of control "
                f"runs{skipped}){timed}",
                figures,
            )
        )
        return result
    parts = []
    if diffs:
        listed = "; ".join(_line(d) for d in diffs[:5]) + (" ..." if len(diffs) > 5 else "")
        parts.append(
            f"{len(diffs)} request difference(s) in {len({d['test'] for d in diffs})} "
            f"scenario(s): {listed}"
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
    if slow:
        parts.append(f"{len(slow)} timing(s) differ by {rule}: {' | '.join(slow)}")
        result.findings.append(
            Finding(
                category="observation",
                severity="major",
                rule_id="observation.control",
                message="the buyer waits noticeably longer or shorter with the intercepting proxy "
                f"than without it ({rule}): {' | '.join(slow)}",
                evidence=[
                    {"figure": name, **entry}
                    for name, entry in timings.items()
                    if entry["status"] == "differs"
                ],
            )
        )
    result.checks.append(
        _check(
            "not_judged",
            f"the shop behaved differently without the proxy ({'; '.join(parts)}): what the "
            "proxy observed may not be what a real buyer gets, so nothing observed can pass"
            + (f"{timed}" if within or too_few or unpaired else ""),
            figures,
        )
    )
    return result
