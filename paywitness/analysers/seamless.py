"""Seamless: the buyer did not notice the hand-off (continuity, vitals, timing, screens).

Figures are grouped per scenario (a *series*: the runs of one test id, its repeats included)
and, where the run has a baseline (the same scenario before the migration: a replay, a live
old target or a stored bundle lent with `--baseline`), compared with the baseline's runs of
the same scenario:

- timings fail when the target is significantly slower than `timing_factor` x the baseline
  (`paywitness.seamless.stats`: one-sided Mann-Whitney U on target/ratio vs baseline);
- Web Vitals fail above the "poor" threshold, or when worse than the baseline by the same rule
  (CLS: by more than `cls_over_baseline`; INP and LCP: only once above "good"); a limit is never
  above "poor";
- counts (navigations, actions, popups, redirects, dialogs, login prompts, origins, errors)
  fail on any increase over the baseline's largest count;
- screens fail when more pixels differ from the baseline's than the budget allows.

Without a baseline, the profile's absolute `seamless.limits` apply; a check with neither is
`not_judged`, which keeps the seamless gate `inconclusive` unless the profile waives that check
with a reason. Every comparison prints both sides' distributions (median, min..max, n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from paywitness.analysers.popups import describe_popups
from paywitness.ledger import FlowRecord
from paywitness.moments import CHECK_MOMENTS, missing_moments, not_judged_reason
from paywitness.profile import SeamlessPolicy
from paywitness.seamless.figures import (
    SCOPES,
    RunFigures,
    group_by_test,
    run_figures,
    series_of,
)
from paywitness.seamless.stats import Comparison, compare_samples, describe
from paywitness.seamless_checks import check_id
from paywitness.verdict import AnalysisContext, CategoryResult, Check, CheckStatus, Finding

__all__ = [
    "BASELINE_SOURCE_PROBE",
    "SEAMLESS_FORMAT",
    "analyse_seamless",
    "rating",
    "waived_checks",
]

#: Version of the seamless figures a bundle stores (a baseline bundle must be compatible).
SEAMLESS_FORMAT = 2
#: The record naming where a baseline came from (profile, version, commit, date).
BASELINE_SOURCE_PROBE = "baseline-source"
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


@dataclass
class _Series:
    """The runs of one scenario: finished target runs, runs cut short, the baseline's runs."""

    key: str
    runs: list[RunFigures] = field(default_factory=list)
    cut: list[RunFigures] = field(default_factory=list)
    base: list[RunFigures] = field(default_factory=list)
    screens: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key.split("::")[-1]

    @property
    def paired(self) -> bool:
        return bool(self.runs) and bool(self.base)


def _short(key: str) -> str:
    return key.split("::")[-1]


def _build_series(ctx: AnalysisContext) -> list[_Series]:
    series: dict[str, _Series] = {}
    for test, records in sorted(group_by_test(ctx.records).items()):
        fig = run_figures(test, records)
        s = series.setdefault(series_of(test), _Series(series_of(test)))
        if fig.cut_short:
            s.cut.append(fig)
        elif fig.observed:
            s.runs.append(fig)
    bases: dict[str, list[RunFigures]] = {}
    screens: dict[str, dict[str, dict[str, Any]]] = {}
    for test, records in sorted(group_by_test(ctx.baseline).items()):
        fig = run_figures(test, records)
        key = series_of(test)
        screens.setdefault(key, {}).update(fig.screens)
        if any(r.kind == "client" and r.extra.get("probe") == "moment" for r in records):
            bases.setdefault(key, []).append(fig)
    by_name: dict[str, list[str]] = {}
    for key in bases:
        by_name.setdefault(_short(key), []).append(key)
    for s in series.values():
        # The same test id; else the same test function and parameters in another file
        # (a baseline recorded from other scenario files), when that names exactly one.
        match: str | None = s.key if s.key in bases else None
        if match is None and len(by_name.get(_short(s.key), [])) == 1:
            match = by_name[_short(s.key)][0]
        if match is not None:
            s.base = bases[match]
            s.screens = screens.get(match, {})
        for f in s.runs:
            s.screens.update(f.screens)
    return [s for s in series.values() if s.runs or s.cut]


def _baseline_source(ctx: AnalysisContext) -> str:
    for r in ctx.baseline:
        if r.kind == "client" and r.extra.get("probe") == BASELINE_SOURCE_PROBE:
            e = r.extra
            commit = str(e.get("commit") or "")[:10]
            return (
                f"baseline {e.get('kind', 'bundle')} of profile {e.get('profile')!r} "
                f"(paywitness {e.get('version')}{', commit ' + commit if commit else ''}, "
                f"recorded {e.get('date')})"
            )
    return "baseline (source not recorded)"


class _Judge:
    def __init__(self, policy: SeamlessPolicy, start_origin: str, source: str) -> None:
        self.p = policy
        self.start_origin = start_origin
        self.source = source
        self.result = CategoryResult(category="seamless")

    def check(
        self,
        name: str,
        status: CheckStatus,
        summary: str,
        figures: Mapping[str, Any],
        *,
        required: bool = True,
        evidence: Sequence[FlowRecord] = (),
    ) -> None:
        cid = check_id(name)
        if status == "not_judged":
            summary = f"{cid} {summary}"  # named in the verdict's reasons, too
            waiver = self.p.waiver(name)
            if waiver is not None:
                required = False
                summary += f" -- waived by the profile: {waiver.reason}"
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
                    severity="major",
                    rule_id=cid,
                    message=summary,
                    flow_ids=[r.id for r in evidence][:20],
                    evidence=[_ev(r) for r in evidence][:20],
                )
            )


def _cut_note(cut: Sequence[_Series]) -> str:
    names = ", ".join(s.name for s in cut)
    return f"not judged: scenario(s) cut short before they finished: {names}"


def analyse_seamless(ctx: AnalysisContext) -> CategoryResult:
    """Continuity, Web Vitals, timings and screens of every scenario, against its baseline."""
    p = ctx.profile.seamless
    start = urlsplit(
        ctx.profile.flow.start_url
        if ctx.profile.flow and ctx.profile.flow.start_url
        else ctx.profile.start_url
    )
    all_series = _build_series(ctx)
    paired = [s for s in all_series if s.paired]
    j = _Judge(p, f"{start.scheme}://{start.netloc}".lower(), _baseline_source(ctx))
    j.result.observed = {
        "format": SEAMLESS_FORMAT,
        "series": len(all_series),
        "baseline_series": len(paired),
        "baseline": j.source if paired else None,
        "rule": (
            f"timings: fail when the target median > {p.timing_factor:g} x the baseline median "
            f"and more than {p.timing_noticeable_ms:g} ms above it, and one-sided Mann-Whitney "
            f"U of target/{p.timing_factor:g} vs baseline gives p <= {p.alpha:g}; counts: fail "
            "on any increase; vitals: never above 'poor'"
        ),
        "waivers": [{"check": w.check, "reason": w.reason} for w in p.waive],
        "thresholds": p.model_dump(exclude={"mask", "screens", "login_paths", "waive"}),
    }
    if not any(s.runs or s.cut for s in all_series):
        # A run without any browser-side record (a phone, a proxy on its own) cannot show
        # seamlessness: not judged rather than guessed (automated runs always probe).
        j.check(
            "observed",
            "not_observed",
            "not judged: no browser-side observations were recorded (a phone or proxy-only "
            "run cannot see the screen)",
            {},
            required=not _proxy_only(ctx.records),
        )
        return j.result
    runs = sum(len(s.runs) for s in all_series)
    j.check(
        "observed",
        "pass",
        f"{runs} scenario run(s) in {len(all_series)} scenario(s) probed; "
        f"{len(paired)} scenario(s) with a baseline"
        + (f" ({j.source})" if paired else "")
        + (
            f"; {sum(len(s.cut) for s in all_series)} run(s) cut short"
            if any(s.cut for s in all_series)
            else ""
        ),
        {"runs": runs, "baseline_series": len(paired)},
    )
    _address_bar(j, all_series)
    popups = describe_popups(ctx.records)  # every URL each popup loaded, and its step
    for name, what, pick in (
        ("popups", "popup(s) or new tab(s) opened by the shop", lambda f: f.popups),
        ("redirects", "cross-origin redirect(s) of the page", lambda f: f.redirects),
        ("dialogs", "dialog(s) shown", lambda f: f.dialogs),
        ("login-prompts", "extra login prompt(s) (401s, login pages)", lambda f: f.logins),
    ):
        _event_count(j, name, what, all_series, pick, popups if name == "popups" else None)
    _origins(j, all_series)
    _errors(j, all_series)
    judged = paired or all_series  # with a baseline, judged where it exists (same load on both)
    _vitals(j, judged)
    _cls_per_step(j, judged)
    _per_step_counts(j, all_series)
    _timings(j, judged)
    _screens(j, all_series)
    j.result.observed["series_figures"] = {
        s.key: {
            "runs": len(s.runs),
            "cut_short": len(s.cut),
            "baseline_runs": len(s.base),
            "timings_ms": {
                n: describe([f.timings_ms[n] for f in s.runs if n in f.timings_ms]).to_dict()
                for n in sorted({n for f in s.runs for n in f.timings_ms})
            },
            "baseline_timings_ms": {
                n: describe([f.timings_ms[n] for f in s.base if n in f.timings_ms]).to_dict()
                for n in sorted({n for f in s.base for n in f.timings_ms})
            },
        }
        for s in all_series
    }
    return j.result


def _proxy_only(records: Sequence[FlowRecord]) -> bool:
    """True for a run that recorded nothing browser-side at all (phone or proxy-only)."""
    return not any(r.kind == "client" for r in records)


def _side(values: Sequence[float], unit: str = "") -> str:
    return describe(values).text(unit)


def _address_bar(j: _Judge, series: list[_Series]) -> None:
    away = sorted(
        {(st, o) for s in series for f in s.runs + s.cut for st, o in f.origins}
        - {(st, j.start_origin) for s in series for f in s.runs + s.cut for st, _ in f.origins}
    )
    cut = [s for s in series if s.cut]
    if away:
        j.check(
            "address-bar",
            "fail",
            f"address bar left the storefront: {', '.join(f'{o} in {st}' for st, o in away)} "
            f"(threshold: stays on {j.start_origin})",
            {"left_to": [o for _, o in away], "threshold": [j.start_origin]},
        )
    elif cut:
        j.check("address-bar", "not_judged", _cut_note(cut), {"cut_short": [s.key for s in cut]})
    else:
        j.check(
            "address-bar",
            "pass",
            f"address bar stayed on {j.start_origin} in {sum(len(s.runs) for s in series)} "
            "run(s) (threshold: stays on it)",
            {"origins": [j.start_origin], "threshold": [j.start_origin]},
        )


def _event_count(
    j: _Judge,
    name: str,
    what: str,
    series: list[_Series],
    pick: Callable[[RunFigures], list[FlowRecord]],
    described: Mapping[str, str] | None = None,
) -> None:
    """Events the buyer notices: none allowed, or no more than the baseline showed."""
    found: list[FlowRecord] = []
    parts: list[str] = []
    figures: dict[str, Any] = {}
    for s in series:
        counts = [len(pick(f)) for f in s.runs + s.cut]
        allowed = max((len(pick(b)) for b in s.base), default=0)
        worst = max(counts, default=0)
        figures[s.key] = {
            "target": describe(counts).to_dict(),
            "baseline": describe([len(pick(b)) for b in s.base]).to_dict() if s.base else None,
            "threshold": allowed,
        }
        if worst > allowed:
            found += [r for f in s.runs + s.cut for r in pick(f)]
            base_txt = (
                f"baseline {_side([len(pick(b)) for b in s.base])}" if s.base else "threshold 0"
            )
            parts.append(f"{s.name}: target {_side(counts)} > {base_txt}")
    cut = [s for s in series if s.cut]
    if found:
        where = ", ".join(
            sorted(
                {
                    (described or {}).get(r.id)
                    or f"{r.extra.get('probe')} {r.url or ''} in {r.step}".strip()
                    for r in found
                }
            )
        )[:600]
        j.check(
            name,
            "fail",
            f"{len(found)} {what} (threshold 0, or the baseline's count): {where}; "
            + "; ".join(parts),
            figures,
            evidence=found,
        )
    elif cut:
        j.check(name, "not_judged", _cut_note(cut), figures)
    else:
        j.check(name, "pass", f"0 {what} (threshold 0, or the baseline's count)", figures)


def _count_rule(
    j: _Judge,
    name: str,
    what: str,
    series: list[_Series],
    pick: Callable[[RunFigures], int],
    limit: int | None,
    *,
    evidence: Callable[[RunFigures], list[FlowRecord]] | None = None,
    note: str = "",
) -> None:
    """A count per run: no increase over the baseline's largest, else at most the limit."""
    paired = [s for s in series if s.paired]
    judged = paired or (series if limit is not None else [])
    if not judged:
        cut = [s for s in series if s.cut]
        j.check(
            name,
            "not_judged",
            f"not judged: no baseline to compare {what} with and no `seamless.limits` entry"
            if not cut or any(s.runs for s in series)
            else _cut_note(cut),
            {s.key: describe([pick(f) for f in s.runs]).to_dict() for s in series},
        )
        return
    bad: list[str] = []
    parts: list[str] = []
    ev: list[FlowRecord] = []
    figures: dict[str, Any] = {}
    for s in judged:
        counts = [pick(f) for f in s.runs]
        if not counts:
            continue
        if s.paired:
            allowed = max(pick(b) for b in s.base)
            against = f"baseline {_side([pick(b) for b in s.base])}"
        else:
            assert limit is not None
            allowed, against = limit, f"limit {limit}"
        figures[s.key] = {
            "target": describe(counts).to_dict(),
            "baseline": describe([pick(b) for b in s.base]).to_dict() if s.paired else None,
            "threshold": allowed,
        }
        text = f"{s.name}: target {_side(counts)} vs {against}"
        parts.append(text)
        if max(counts) > allowed:
            bad.append(text)
            if evidence is not None:
                ev += [r for f in s.runs for r in evidence(f)]
    source = (f"; {note}" if note else "") + (f"; {j.source}" if paired else "")
    j.check(
        name,
        "fail" if bad else "pass",
        (f"more {what} than allowed: " + " | ".join(bad) + source)
        if bad
        else f"no more {what} than allowed: " + " | ".join(parts) + source,
        figures,
        evidence=ev,
    )


def _origins(j: _Judge, series: list[_Series]) -> None:
    _count_rule(
        j,
        "new-origins",
        "address-bar origins",
        series,
        lambda f: len(f.origin_set()),
        j.p.limits.origins,
    )


def _errors(j: _Judge, series: list[_Series]) -> None:
    # A run without a baseline (a declined card, an injected fault) may show errors on purpose:
    # judged only against the baseline's count or the profile's explicit limit.
    _count_rule(
        j,
        "errors",
        "page errors, console errors and failed requests",
        series,
        lambda f: len(f.errors),
        j.p.limits.errors,
        evidence=lambda f: f.errors,
        note=_excused_note(series),
    )


def _excused_note(series: list[_Series]) -> str:
    excused = [r for s in series for f in s.runs for r in f.excused]
    if not excused:
        return ""
    return f"{len(excused)} error(s) caused by paywitness's own injected faults not counted"


def _actions(f: RunFigures) -> dict[str, int]:
    return f.actions


def _documents(f: RunFigures) -> dict[str, int]:
    return f.documents


def _per_step_counts(j: _Judge, series: list[_Series]) -> None:
    paired = [s for s in series if s.paired]
    specs: tuple[tuple[str, str, Callable[[RunFigures], dict[str, int]], int | None], ...] = (
        ("actions", "user actions", _actions, j.p.limits.actions),
        ("navigations", "top-level navigations", _documents, j.p.limits.navigations),
    )
    for name, what, pick, limit in specs:
        if not paired:

            def total(f: RunFigures, g: Callable[[RunFigures], dict[str, int]] = pick) -> int:
                return sum(g(f).values())

            _count_rule(j, name, what + " per run", series, total, limit)
            continue
        bad: list[str] = []
        parts: list[str] = []
        figures: dict[str, Any] = {}
        for s in paired:
            steps = list(
                dict.fromkeys([st for f in s.runs for st in f.steps] or sorted(pick(s.runs[0])))
            )
            for step in steps:
                mine = [pick(f).get(step, 0) for f in s.runs]
                theirs = [pick(b).get(step, 0) for b in s.base]
                figures[f"{s.key} {step}"] = {
                    "target": describe(mine).to_dict(),
                    "baseline": describe(theirs).to_dict(),
                    "threshold": max(theirs),
                }
                text = f"{step}: target {_side(mine)} vs baseline {_side(theirs)}"
                parts.append(text)
                if max(mine) > max(theirs):
                    bad.append(f"{s.name} {text}")
        j.check(
            name,
            "fail" if bad else "pass",
            (f"more {what} than the baseline: " + "; ".join(bad) + f"; {j.source}")
            if bad
            else f"no step has more {what} than the baseline: "
            + "; ".join(parts)
            + f"; {j.source}",
            figures,
        )


_Pick = Callable[[RunFigures], dict[str, float]]


def _vitals(j: _Judge, series: list[_Series]) -> None:
    p = j.p
    specs: tuple[tuple[str, str, _Pick, float, float, float | None, str], ...] = (
        ("cls", "CLS", lambda f: f.cls, p.cls_good, p.cls_poor, p.limits.cls, ""),
        ("inp", "INP", lambda f: f.inp_ms, p.inp_good_ms, p.inp_poor_ms, p.limits.inp_ms, " ms"),
        ("lcp", "LCP", lambda f: f.lcp_ms, p.lcp_good_ms, p.lcp_poor_ms, p.limits.lcp_ms, " ms"),
    )
    for key, label, pick, good, poor, limit_opt, unit in specs:
        limit = min(poor, limit_opt if limit_opt is not None else good)
        parts: list[str] = []
        bad: list[str] = []
        figures: dict[str, Any] = {}
        for scope in SCOPES:
            worst_obs, worst_base = 0.0, None
            per_series: dict[str, Any] = {}
            for s in series:
                values = [pick(f).get(scope, 0.0) for f in s.runs]
                if not values:
                    continue
                t = describe(values)
                worst_obs = max(worst_obs, t.median)
                status = rating(t.median, good, poor)
                if s.paired:
                    base = [pick(b).get(scope, 0.0) for b in s.base]
                    comp = _compare_vital(key, values, base, p)
                    worst_base = max(worst_base or 0.0, comp.baseline.median)
                    # A shift beyond the allowance is visible however small the total;
                    # a slower INP/LCP counts only once it leaves "good" (ms noise).
                    failed = t.median > poor or (comp.worse and (key == "cls" or t.median > good))
                    text = (
                        f"{_SCOPE_NAMES[scope]} {t.median:g}{unit} {status} (good <= {good:g}"
                        f"{unit}, poor > {poor:g}{unit}; target {t.text(unit)}, baseline "
                        f"{comp.baseline.text(unit)}; {_vital_rule(key, comp, p)})"
                    )
                    per_series[s.key] = comp.to_dict()
                else:
                    failed = t.median > limit
                    text = (
                        f"{_SCOPE_NAMES[scope]} {t.median:g}{unit} {status} (good <= {good:g}"
                        f"{unit}, poor > {poor:g}{unit}, limit {limit:g}{unit}; no baseline; "
                        f"target {t.text(unit)})"
                    )
                    per_series[s.key] = {"target": t.to_dict(), "limit": limit}
                if failed:
                    worst_run = s.runs[values.index(max(values))]
                    cause = worst_run.causes.get((key, scope))
                    bad.append(f"{s.name}: {text}" + (f"; caused by {cause}" if cause else ""))
                parts.append(text)
            figures[scope] = {
                "observed": worst_obs,
                "rating": rating(worst_obs, good, poor),
                "good": good,
                "poor": poor,
                "limit": limit,
                "baseline": worst_base,
                "series": per_series,
            }
        paired = any(s.paired for s in series)
        j.check(
            key,
            "fail" if bad else "pass",
            f"{label}: "
            + ("; ".join(bad) if bad else "; ".join(dict.fromkeys(parts)))
            + (f"; {j.source}" if paired else ""),
            figures,
        )


def _vital_rule(key: str, comp: Comparison, p: SeamlessPolicy) -> str:
    if key != "cls":
        return comp.rule_text()
    rule = f"limit the baseline median + {p.cls_over_baseline:g}"
    if comp.tested:
        return rule + f", one-sided Mann-Whitney p={comp.p_value:.3f} (alpha {p.alpha:g})"
    return rule + "; too few repeats for the rank test, judged on the difference alone"


def _compare_vital(
    key: str, target: Sequence[float], base: Sequence[float], p: SeamlessPolicy
) -> Comparison:
    if key == "cls":
        # CLS is unitless and often 0: worse means above the baseline plus the allowance.
        shifted = [v - p.cls_over_baseline for v in target]
        comp = compare_samples(shifted, base, ratio=1.0, alpha=p.alpha)
        t = describe(target)
        worse = t.median > comp.baseline.median + p.cls_over_baseline and (
            comp.p_value <= p.alpha if comp.tested else True
        )
        return Comparison(t, comp.baseline, 1.0, p.alpha, comp.p_value, comp.tested, worse)
    return compare_samples(target, base, ratio=p.timing_factor, alpha=p.alpha)


def _cls_per_step(j: _Judge, series: list[_Series]) -> None:
    p = j.p
    limit = min(p.cls_poor, p.limits.cls if p.limits.cls is not None else p.cls_good)
    over: list[str] = []
    parts: list[str] = []
    figures: dict[str, Any] = {}
    for s in series:
        keys = sorted({k for f in s.runs for k in f.cls_by_step})
        for scope, step in keys:
            values = [f.cls_by_step.get((scope, step), 0.0) for f in s.runs]
            t = describe(values)
            if s.paired:
                base = [b.cls_by_step.get((scope, step), 0.0) for b in s.base]
                comp = _compare_vital("cls", values, base, p)
                text = (
                    f"{_SCOPE_NAMES[scope]} in {step}: target {t.text()}, baseline "
                    f"{comp.baseline.text()} (allowance +{p.cls_over_baseline:g})"
                )
                failed = comp.worse
            else:
                text = f"{_SCOPE_NAMES[scope]} in {step}: {t.text()} (limit {limit:g})"
                failed = t.median > limit
            figures[f"{s.key} {scope} {step}"] = {"target": t.to_dict(), "failed": failed}
            parts.append(text)
            if failed:
                over.append(f"{s.name} {text}")
    j.check(
        "cls-per-step",
        "fail" if over else "pass",
        ("layout shift above the allowance: " + "; ".join(over))
        if over
        else "no step shifts more than allowed"
        + (": " + "; ".join(parts[:6]) if parts else " (no layout shift in any step)"),
        figures,
    )


def _timings(j: _Judge, series: list[_Series]) -> None:
    p = j.p
    slow: list[str] = []
    parts: list[str] = []
    unjudged: list[str] = []
    figures: dict[str, Any] = {}
    # A documented timing whose moment a finished run never marked cannot be computed: the
    # check is not judged and names the moment to mark (never a pass on the figures left).
    lacking: dict[str, list[str]] = {}
    needed = CHECK_MOMENTS[check_id("timing")]
    # A run that marked none of them bought nothing (a scenario of the user's that only looks
    # at the page): not a purchase with a moment missing, unless no run marked any at all.
    any_marked = any(set(f.moments) & set(needed) for s in series for f in s.runs)
    for s in series:
        for f in s.runs:
            if any_marked and not set(f.moments) & set(needed):
                continue
            gone = missing_moments(needed, f.moments)
            if gone:
                lacking.setdefault(s.name, [])
                lacking[s.name] += [m for m in gone if m not in lacking[s.name]]
        names = sorted({n for f in s.runs for n in f.timings_ms})
        for name in names:
            values = [f.timings_ms[name] for f in s.runs if name in f.timings_ms]
            base = [b.timings_ms[name] for b in s.base if name in b.timings_ms]
            t = describe(values)
            if base:
                comp = compare_samples(
                    values,
                    base,
                    ratio=p.timing_factor,
                    alpha=p.alpha,
                    noticeable=p.timing_noticeable_ms,
                )
                limit = max(
                    p.timing_factor * comp.baseline.median,
                    comp.baseline.median + p.timing_noticeable_ms,
                )
                text = (
                    f"{name}: target {t.text(' ms')} vs baseline {comp.baseline.text(' ms')}; "
                    f"{comp.rule_text()}"
                )
                entry: dict[str, Any] = {**comp.to_dict(), "limit": round(limit)}
                failed = comp.worse
            elif name in p.limits.timings_ms:
                limit = p.limits.timings_ms[name]
                text = f"{name}: {t.text(' ms')} (absolute limit {limit:g} ms; no baseline)"
                entry = {"target": t.to_dict(), "limit": limit}
                failed = t.median > limit
            else:
                unjudged.append(f"{s.name} {name} {t.text(' ms')}")
                continue
            entry["observed"] = t.median
            entry["baseline"] = describe(base).median if base else None
            prior = figures.get(name)
            if prior is None or entry["observed"] > prior["observed"]:
                figures[name] = entry
            parts.append(text)
            if failed:
                slow.append(f"{s.name} {text}")
    source = f"; {j.source}" if any(s.paired for s in series) else ""
    tail = f" (not judged, neither baseline nor limit: {', '.join(unjudged)})" if unjudged else ""
    if lacking:
        missing = not_judged_reason(check_id("timing"), [m for ms in lacking.values() for m in ms])
        missing += f"; scenario(s) without them: {', '.join(sorted(lacking))}"
        if not slow:
            j.check(
                "timing",
                "not_judged",
                missing + (f"; timed: {' | '.join(parts)}{source}" if parts else ""),
                {**figures, "missing_moments": dict(sorted(lacking.items()))},
            )
            return
        tail += f"; {missing}"  # a slow figure fails the check whatever else is missing
    if not figures:
        cut = [s for s in series if s.cut]
        j.check(
            "timing",
            "not_judged" if unjudged or cut else "not_observed",
            (
                "not judged: no baseline and no `seamless.limits.timings_ms` for "
                + ", ".join(unjudged)
            )
            if unjudged
            else (_cut_note(cut) if cut else "no moment pair was recorded to time"),
            {},
            required=bool(unjudged or cut),
        )
        return
    j.check(
        "timing",
        "fail" if slow else "pass",
        ("slower than allowed: " + " | ".join(slow) + source + tail)
        if slow
        else " | ".join(parts) + source + tail,
        figures,
    )


def _screens(j: _Judge, series: list[_Series]) -> None:
    p = j.p
    diffs = {f"{s.name} {n}": d for s in series for n, d in sorted(s.screens.items())}
    if not diffs:
        paired = any(s.paired for s in series)
        j.check(
            "screens",
            "not_judged",
            "not judged: "
            + (
                "the baseline has no screenshot of the same moments to compare with"
                if paired
                else "no baseline screenshots to compare the screens with"
            ),
            {},
        )
        return
    over = [n for n, d in diffs.items() if float(str(d.get("ratio", 0))) > p.pixel_budget]
    parts = [
        f"{n} {float(str(d.get('ratio', 0))) * 100:.2f}% ({d.get('diff_pixels')} px, diff "
        f"{d.get('file')})"
        for n, d in sorted(diffs.items())
    ]
    j.check(
        "screens",
        "fail" if over else "pass",
        f"pixels differing from the baseline (threshold {p.pixel_threshold:g}, budget "
        f"{p.pixel_budget * 100:g}% per screen, masks {len(p.mask)}): "
        + "; ".join(parts)
        + f"; {j.source}",
        {
            n: {
                "ratio": d.get("ratio"),
                "diff_pixels": d.get("diff_pixels"),
                "budget": p.pixel_budget,
                "file": d.get("file"),
                "expected": d.get("expected"),
                "actual": d.get("actual"),
            }
            for n, d in diffs.items()
        },
    )


def waived_checks(checks: Sequence[Check]) -> list[str]:
    """Seamless checks left unjudged under a waiver."""
    return [c.id for c in checks if c.status == "not_judged" and not c.required]
