"""Seamless: the buyer did not notice the hand-off (continuity, vitals, timing, vs the baseline).

Every figure is reported with its threshold and, where the run had one, the baseline's value:
the same scenario replayed on the pre-migration target (`AnalysisContext.baseline`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from paywitness.analysers.popups import describe_popups
from paywitness.ledger import FlowRecord
from paywitness.profile import SeamlessPolicy
from paywitness.seamless.figures import (
    BASELINE_SUFFIX,
    SCOPES,
    RunFigures,
    group_by_test,
    run_figures,
)
from paywitness.verdict import AnalysisContext, CategoryResult, Check, CheckStatus, Finding

__all__ = ["analyse_seamless", "rating"]
_SCOPE_NAMES = {"page": "storefront page", "frame": "checkout frame"}


def rating(value: float, good: float, poor: float) -> str:
    """Web Vitals rating: good, needs-improvement or poor."""
    return "good" if value <= good else ("poor" if value > poor else "needs-improvement")


def _ev(r: FlowRecord) -> dict[str, object]:
    return {
        "flow_id": r.id,
        "step": r.step,
        "method": "CLIENT",
        "url": r.url,
        "role": r.role,
        "status": r.extra.get("status"),
        "probe": r.extra.get("probe"),
    }


class _Judge:
    def __init__(self, policy: SeamlessPolicy, start_origin: str) -> None:
        self.p = policy
        self.start_origin = start_origin
        self.result = CategoryResult(category="seamless")

    def check(
        self,
        cid: str,
        status: CheckStatus,
        summary: str,
        figures: Mapping[str, Any],
        *,
        required: bool = True,
        evidence: Sequence[FlowRecord] = (),
        severity: str = "major",
    ) -> None:
        self.result.checks.append(
            Check(
                id=cid,
                category="seamless",
                status=status,
                summary=summary,
                required=required,
                figures=dict(figures),
            )
        )
        if status == "fail":
            self.result.findings.append(
                Finding(
                    category="seamless",
                    severity="major" if severity == "major" else "minor",
                    rule_id=cid,
                    message=summary,
                    flow_ids=[r.id for r in evidence][:20],
                    evidence=[_ev(r) for r in evidence][:20],
                )
            )

    def count_check(
        self,
        cid: str,
        what: str,
        runs: list[RunFigures],
        pick: Callable[[RunFigures], list[FlowRecord]],
        bases: dict[str, RunFigures],
        described: Mapping[str, str] | None = None,
    ) -> None:
        found = [r for f in runs for r in pick(f)]
        base = [r for f in runs if f.test in bases for r in pick(bases[f.test])]
        base_txt = f"; baseline {len(base)}" if bases else ""
        where = ", ".join(
            sorted(
                {
                    (described or {}).get(r.id)
                    or f"{r.extra.get('probe')} {r.url or ''} in {r.step}".strip()
                    for r in found
                }
            )
        )[:600]
        self.check(
            cid,
            "fail" if found else "pass",
            f"{len(found)} {what} (threshold 0{base_txt})" + (f": {where}" if found else ""),
            {"observed": len(found), "threshold": 0, "baseline": len(base) if bases else None},
            evidence=found,
        )


def _pairs(ctx: AnalysisContext) -> tuple[list[RunFigures], dict[str, RunFigures]]:
    targets = [run_figures(t, rs) for t, rs in sorted(group_by_test(ctx.records).items())]
    targets = [f for f in targets if f.observed]
    baselines = {
        t: run_figures(t, rs)
        for t, rs in group_by_test(ctx.baseline, strip=BASELINE_SUFFIX).items()
    }
    return targets, {t: f for t, f in baselines.items() if f.observed}


def analyse_seamless(ctx: AnalysisContext) -> CategoryResult:
    """Continuity, Web Vitals, timings and screens of every run, against the baseline's."""
    p = ctx.profile.seamless
    start = urlsplit(
        ctx.profile.flow.start_url
        if ctx.profile.flow and ctx.profile.flow.start_url
        else ctx.profile.start_url
    )
    j = _Judge(p, f"{start.scheme}://{start.netloc}".lower())
    runs, bases = _pairs(ctx)
    paired = [f for f in runs if f.test in bases]
    j.result.observed = {
        "runs": len(runs),
        "baseline_runs": len(paired),
        "thresholds": p.model_dump(exclude={"mask", "screens", "login_paths"}),
    }
    if not runs:
        # A run without any browser-side record (a phone, a proxy on its own) cannot show
        # seamlessness: not judged rather than guessed (automated runs always probe).
        j.check(
            "seamless.observed",
            "not_observed",
            "not judged: no browser-side observations were recorded (a phone or proxy-only "
            "run cannot see the screen)",
            {},
            required=not _proxy_only(ctx.records),
        )
        return j.result
    j.check(
        "seamless.observed",
        "pass",
        f"{len(runs)} scenario run(s) probed, {len(paired)} with a baseline replay",
        {"runs": len(runs), "baseline_runs": len(paired)},
    )
    _address_bar(j, runs, bases)
    j.count_check(
        "seamless.popups",
        "popup(s) or new tab(s) opened by the shop",
        runs,
        lambda f: f.popups,
        bases,
        describe_popups(ctx.records),  # every URL each popup loaded, and its step
    )
    j.count_check(
        "seamless.redirects",
        "cross-origin redirect(s) of the page",
        runs,
        lambda f: f.redirects,
        bases,
    )
    j.count_check("seamless.dialogs", "dialog(s) shown", runs, lambda f: f.dialogs, bases)
    j.count_check(
        "seamless.login-prompts",
        "extra login prompt(s) (401s, login pages)",
        runs,
        lambda f: f.logins,
        bases,
    )
    _errors(j, runs, bases)
    # With a baseline replay, vitals are judged on the runs that have one (a busy machine slows
    # both alike); without any, every run is judged against the absolute thresholds.
    _vitals(j, paired or runs, bases)
    _per_step(j, paired, bases)
    _timings(j, paired, bases)
    _screens(j, paired)
    j.result.observed["runs_figures"] = {
        f.test: {
            "cls": f.cls,
            "lcp_ms": f.lcp_ms,
            "inp_ms": f.inp_ms,
            "timings_ms": f.timings_ms,
            "baseline": (
                {
                    "cls": bases[f.test].cls,
                    "lcp_ms": bases[f.test].lcp_ms,
                    "inp_ms": bases[f.test].inp_ms,
                    "timings_ms": bases[f.test].timings_ms,
                }
                if f.test in bases
                else None
            ),
        }
        for f in runs
    }
    return j.result


def _address_bar(j: _Judge, runs: list[RunFigures], bases: dict[str, RunFigures]) -> None:
    away = sorted({(s, o) for f in runs for s, o in f.origins if o != j.start_origin})
    base_origins = sorted({o for f in bases.values() for o in f.origin_set()})
    base_txt = f"; baseline {', '.join(base_origins) or 'none'}" if bases else ""
    j.check(
        "seamless.address-bar",
        "fail" if away else "pass",
        (
            f"address bar left the storefront: {', '.join(f'{o} in {s}' for s, o in away)} "
            f"(threshold: stays on {j.start_origin}{base_txt})"
        )
        if away
        else f"address bar stayed on {j.start_origin} (threshold: stays on it{base_txt})",
        {
            "origins": sorted({o for f in runs for o in f.origin_set()}),
            "threshold": [j.start_origin],
            "baseline": base_origins if bases else None,
        },
    )
    paired = [f for f in runs if f.test in bases]
    if not paired:
        j.check(
            "seamless.new-origins",
            "not_observed",
            "no baseline replay to compare address-bar origins with",
            {},
            required=False,
        )
        return
    new = sorted({o for f in paired for o in f.origin_set() - bases[f.test].origin_set()})
    j.check(
        "seamless.new-origins",
        "fail" if new else "pass",
        f"{len(new)} origin(s) in the address bar the baseline never showed"
        + (f": {', '.join(new)}" if new else "")
        + f" (threshold 0; baseline origins {', '.join(base_origins)})",
        {"new": new, "threshold": 0, "baseline": base_origins},
    )


def _proxy_only(records: Sequence[FlowRecord]) -> bool:
    """True for a run that recorded nothing browser-side at all (phone or proxy-only)."""
    return not any(r.kind == "client" for r in records)


def _errors(j: _Judge, runs: list[RunFigures], bases: dict[str, RunFigures]) -> None:
    # Errors are judged against the same purchase before the migration. A run without a
    # replay (a declined card, an injected fault) may show errors on purpose: reported in the
    # figures, never judged against an invented threshold of zero.
    worst: list[str] = []
    evidence: list[FlowRecord] = []
    figures: dict[str, object] = {}
    compared = [f for f in runs if f.test in bases]
    for f in runs:
        allowed = len(bases[f.test].errors) if f.test in bases else None
        figures[f.test] = {"observed": len(f.errors), "threshold": allowed}
        if allowed is not None and len(f.errors) > allowed:
            evidence += f.errors
            kinds = sorted(
                {f"{r.extra.get('probe')}: {r.extra.get('text') or r.url}" for r in f.errors}
            )
            worst.append(
                f"{len(f.errors)} > {allowed} in {f.test.split('::')[-1]} "
                f"({'; '.join(kinds)[:300]})"
            )
    if not compared:
        j.check(
            "seamless.errors",
            "not_observed",
            "no run had a baseline replay to compare page errors, console errors and failed "
            "requests with",
            figures,
            required=False,
        )
        return
    j.check(
        "seamless.errors",
        "fail" if worst else "pass",
        ("page/console errors and failed requests above the baseline's: " + " | ".join(worst))
        if worst
        else f"no more page errors, console errors or failed requests than the baseline in "
        f"{len(compared)} run(s) with a baseline replay (threshold: the baseline's count)",
        figures,
        evidence=evidence,
    )


def _vitals(j: _Judge, runs: list[RunFigures], bases: dict[str, RunFigures]) -> None:
    p = j.p
    _Pick = Callable[[RunFigures], dict[str, float]]
    specs: tuple[tuple[str, str, _Pick, float, float, str], ...] = (
        ("cls", "CLS", lambda f: f.cls, p.cls_good, p.cls_poor, ""),
        ("inp", "INP", lambda f: f.inp_ms, p.inp_good_ms, p.inp_poor_ms, " ms"),
        ("lcp", "LCP", lambda f: f.lcp_ms, p.lcp_good_ms, p.lcp_poor_ms, " ms"),
    )
    for key, label, pick, good, poor, unit in specs:
        parts: list[str] = []
        bad: list[str] = []
        figures: dict[str, Any] = {}
        for scope in SCOPES:
            values = [pick(f).get(scope, 0.0) for f in runs]
            worst = max(values, default=0.0)
            base_vals = [pick(bases[f.test]).get(scope, 0.0) for f in runs if f.test in bases]
            base = max(base_vals) if base_vals else None
            limit = poor
            if key == "cls" and base is not None:
                limit = min(poor, base + p.cls_over_baseline)
            elif base is not None:
                limit = max(poor, base * p.timing_factor + p.timing_slack_ms)
            status = rating(worst, good, poor)
            exceeded = worst > limit
            if exceeded:
                bad.append(scope)
            base_txt = f"; baseline {base:g}{unit}" if base is not None else ""
            extra = ""
            if base is not None:
                extra = f", limit {limit:g}{unit}"
            parts.append(
                f"{_SCOPE_NAMES[scope]} {worst:g}{unit} {status} "
                f"(good <= {good:g}{unit}, poor > {poor:g}{unit}{extra}{base_txt})"
            )
            figures[scope] = {
                "observed": worst,
                "rating": status,
                "good": good,
                "poor": poor,
                "limit": limit,
                "baseline": base,
            }
        j.check(
            f"seamless.{key}",
            "fail" if bad else "pass",
            f"{label}: "
            + "; ".join(parts)
            + (
                f" -- over the limit in the {', '.join(_SCOPE_NAMES[s] for s in bad)}"
                if bad
                else ""
            ),
            figures,
        )
    # Per step against the baseline (the ministry's "no visible disruption", step by step).
    over: list[str] = []
    for f in runs:
        if f.test not in bases:
            continue
        for (scope, step), value in sorted(f.cls_by_step.items()):
            base = bases[f.test].cls_by_step.get((scope, step), 0.0)
            if value > base + p.cls_over_baseline:
                over.append(
                    f"{_SCOPE_NAMES[scope]} in {step}: {value:g} > baseline {base:g} + "
                    f"{p.cls_over_baseline:g}"
                )
    if any(f.test in bases for f in runs):
        j.check(
            "seamless.cls-per-step",
            "fail" if over else "pass",
            ("layout shift above the baseline: " + "; ".join(over))
            if over
            else f"no step shifts more than baseline + {p.cls_over_baseline:g}",
            {"over": over, "allowance": p.cls_over_baseline},
        )


def _per_step(j: _Judge, paired: list[RunFigures], bases: dict[str, RunFigures]) -> None:
    if not paired:
        for cid in ("seamless.actions", "seamless.navigations"):
            j.check(cid, "not_observed", "no baseline replay to compare with", {}, required=False)
        return
    counts: tuple[tuple[str, str, Callable[[RunFigures], dict[str, int]]], ...] = (
        ("seamless.actions", "user action(s)", lambda f: f.actions),
        ("seamless.navigations", "top-level navigation(s)", lambda f: f.documents),
    )
    for cid, what, pick in counts:
        diffs: list[str] = []
        figures: dict[str, Any] = {}
        for f in paired:
            b = bases[f.test]
            for step in f.steps or sorted(pick(f)):
                mine, theirs = pick(f).get(step, 0), pick(b).get(step, 0)
                figures[step] = {"observed": mine, "baseline": theirs, "threshold": "= baseline"}
                if mine != theirs:
                    diffs.append(f"{step}: {mine} vs baseline {theirs}")
        j.check(
            cid,
            "fail" if diffs else "pass",
            (f"{what} differ from the baseline per step: " + "; ".join(diffs))
            if diffs
            else f"same number of {what} as the baseline in every step "
            + ", ".join(f"{s} {v['observed']}" for s, v in figures.items()),
            figures,
        )


def _timings(j: _Judge, paired: list[RunFigures], bases: dict[str, RunFigures]) -> None:
    p = j.p
    if not paired:
        j.check(
            "seamless.timing",
            "not_observed",
            "no baseline replay to compare timings with",
            {},
            required=False,
        )
        return
    slow, parts, figures = [], [], {}
    for f in paired:
        b = bases[f.test]
        for name, value in sorted(f.timings_ms.items()):
            base = b.timings_ms.get(name)
            if base is None:
                continue
            limit = round(max(base * p.timing_factor, base + p.timing_slack_ms))
            figures[name] = {
                "observed": value,
                "baseline": base,
                "limit": limit,
                "factor": p.timing_factor,
                "slack_ms": p.timing_slack_ms,
            }
            text = f"{name} {value:g} ms (limit {limit} ms; baseline {base:g} ms)"
            parts.append(text)
            if value > limit:
                slow.append(text)
    j.check(
        "seamless.timing",
        "fail" if slow else ("pass" if figures else "not_observed"),
        ("slower than the baseline: " + "; ".join(slow))
        if slow
        else (
            "; ".join(parts) + f" (limit = max({p.timing_factor:g} x baseline, baseline + "
            f"{p.timing_slack_ms:g} ms))"
        )
        if parts
        else "no timing to compare",
        figures,
        required=False if not figures else True,
    )


def _screens(j: _Judge, paired: list[RunFigures]) -> None:
    p = j.p
    diffs = {name: d for f in paired for name, d in f.screens.items()}
    if not diffs:
        j.check(
            "seamless.screens", "not_observed", "no screenshot pair to compare", {}, required=False
        )
        return
    over = [n for n, d in diffs.items() if float(str(d.get("ratio", 0))) > p.pixel_budget]
    parts = [
        f"{n} {float(str(d.get('ratio', 0))) * 100:.2f}% ({d.get('diff_pixels')} px, diff "
        f"{d.get('file')})"
        for n, d in sorted(diffs.items())
    ]
    j.check(
        "seamless.screens",
        "fail" if over else "pass",
        f"pixels differing from the baseline (threshold {p.pixel_threshold:g}, budget "
        f"{p.pixel_budget * 100:g}% per screen; baseline 0%): " + "; ".join(parts),
        {
            n: {
                "ratio": d.get("ratio"),
                "diff_pixels": d.get("diff_pixels"),
                "budget": p.pixel_budget,
                "file": d.get("file"),
            }
            for n, d in diffs.items()
        },
    )
