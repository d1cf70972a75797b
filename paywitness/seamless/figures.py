"""The figures of one scenario run, computed from its probe records (pure, no browser)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from paywitness.ledger import FlowRecord
from paywitness.moments import PAY, tab_of, tab_open, tab_span
from paywitness.seamless_checks import TIMINGS

__all__ = [
    "BASELINE_SUFFIX",
    "CUT_SHORT_PROBE",
    "KEPT_WHEN_CUT_SHORT",
    "REPEAT_SEP",
    "SCOPES",
    "TIMINGS",
    "RunFigures",
    "cls_of",
    "group_by_test",
    "repeat_id",
    "run_figures",
    "series_of",
]

# Test id suffix of a scenario's replay on the pre-migration (baseline) target.
BASELINE_SUFFIX = "#baseline"
# Test id suffix of a scenario's further repeats (`<nodeid>#r2`, `<nodeid>#baseline#r2`).
REPEAT_SEP = "#r"
SCOPES = ("page", "frame")
# The marker record of a scenario that did not finish (see `paywitness.run.set_aside_cut_short`).
CUT_SHORT_PROBE = "cut-short"
# What a scenario cut short still proves: the buyer was taken away, shown a popup or a prompt.
KEPT_WHEN_CUT_SHORT = frozenset(
    {"address", "popup", "redirect", "dialog", "auth-prompt", "login-page", "document"}
)


def series_of(test: str) -> str:
    """The scenario a run belongs to: its test id without the baseline/repeat suffixes."""
    return test.split("#", 1)[0]


def repeat_id(test: str, repeat: int) -> str:
    """The test id of repeat `repeat` (1-based) of a run: the first keeps the test's own id."""
    return test if repeat <= 1 else f"{test}{REPEAT_SEP}{repeat}"


_SESSION_GAP_S = 1.0
_SESSION_MAX_S = 5.0


def cls_of(shifts: Iterable[tuple[float, float]]) -> float:
    """CLS: the largest session window (gap < 1 s, span <= 5 s) of (time s, value) shifts."""
    best = current = 0.0
    first = last = None
    for ts, value in sorted(shifts):
        if (
            first is None
            or last is None
            or ts - last > _SESSION_GAP_S
            or ts - first > _SESSION_MAX_S
        ):
            first, current = ts, 0.0
        current += value
        last = ts
        best = max(best, current)
    return round(best, 4)


@dataclass
class RunFigures:
    """What the buyer's browser went through in one scenario run."""

    test: str
    steps: list[str] = field(default_factory=list)
    origins: list[tuple[str, str]] = field(default_factory=list)  # (step, origin), first page
    documents: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    popups: list[FlowRecord] = field(default_factory=list)
    redirects: list[FlowRecord] = field(default_factory=list)
    dialogs: list[FlowRecord] = field(default_factory=list)
    logins: list[FlowRecord] = field(default_factory=list)
    errors: list[FlowRecord] = field(default_factory=list)
    # Errors the run's own injected faults caused (resilience scenarios): not the shop's doing.
    excused: list[FlowRecord] = field(default_factory=list)
    cls: dict[str, float] = field(default_factory=dict)
    cls_by_step: dict[tuple[str, str], float] = field(default_factory=dict)
    lcp_ms: dict[str, float] = field(default_factory=dict)
    inp_ms: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The moments the run marked: a timing whose moment is missing is named, not skipped.
    moments: set[str] = field(default_factory=set)
    screens: dict[str, dict[str, Any]] = field(default_factory=dict)
    observed: int = 0
    cut_short: bool = False
    # What caused each vital's value, per (metric, scope): web-vitals' attribution.
    causes: dict[tuple[str, str], str] = field(default_factory=dict)

    def origin_set(self) -> set[str]:
        return {o for _, o in self.origins}


def group_by_test(records: Iterable[FlowRecord], *, strip: str = "") -> dict[str, list[FlowRecord]]:
    """Records per test id (probe records, step marks, HTTP flows), `strip` removed from the ids."""
    out: dict[str, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.kind in ("client", "mark", "http") and r.test:
            out[r.test.removesuffix(strip) if strip else r.test].append(r)
    return dict(out)


class _Steps:
    """Which step a moment in time belonged to, from the step marks."""

    def __init__(self, records: Sequence[FlowRecord]) -> None:
        marks = sorted((r.ts_start, r.step) for r in records if r.kind == "mark")
        self._times = [t for t, _ in marks]
        self._names = [s for _, s in marks]

    def at(self, ts: float, fallback: str) -> str:
        i = bisect.bisect_right(self._times, ts) - 1
        return self._names[i] if i >= 0 else fallback

    def order(self) -> list[str]:
        seen: list[str] = []
        for s in self._names:
            if s not in seen and s != "unlabelled":
                seen.append(s)
        return seen


def _moments(records: Sequence[FlowRecord]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in records:
        if r.extra.get("probe") == "moment":
            out.setdefault(str(r.extra.get("name")), r.ts_start)
    return out


def run_figures(test: str, records: Sequence[FlowRecord]) -> RunFigures:
    """Reduce one run's probe records to the figures the seamless checks compare."""
    steps = _Steps(records)
    fig = RunFigures(test=test, steps=steps.order())
    shifts: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    lcp: dict[tuple[str, str], float] = {}
    interactions: dict[tuple[str, str, Any], float] = {}
    feedback: list[tuple[float, float]] = []
    last_input: dict[str, str] = {}
    documents_ms: dict[str, float] = {}
    declared = 0  # windows the profile's flow opens on purpose (`popup` steps)
    wv: dict[tuple[str, str, str], tuple[float, str]] = {}
    faults: list[FlowRecord] = []
    for r in sorted(records, key=lambda r: r.ts_start):
        if r.kind == "http" and r.extra.get("fault"):
            faults.append(r)
        if r.kind == "http" and "html" in (r.content_type or "") and r.role != "browser":
            # Server side of the hand-off, as the proxy timed it: CPU noise in the browser or
            # the driver does not reach it, a back end answering late does.
            step = steps.at(r.ts_start, r.step)
            documents_ms[step] = max(documents_ms.get(step, 0.0), (r.ts_end - r.ts_start) * 1000)
        if r.kind != "client":
            continue
        e = r.extra
        probe = e.get("probe")
        if probe == CUT_SHORT_PROBE:
            fig.cut_short = True
            continue
        fig.observed += 1
        step = steps.at(r.ts_start, r.step)
        scope = str(e.get("scope", "page"))
        if probe == "address" and e.get("origin") and e.get("page") == 0:
            fig.origins.append((step, str(e["origin"])))
        elif probe == "document":
            fig.documents[step] = fig.documents.get(step, 0) + 1
        elif probe == "popup":
            fig.popups.append(r)
        elif probe == "popup-declared":
            declared += 1
        elif probe == "redirect" and e.get("cross_origin") and e.get("main"):
            fig.redirects.append(r)
        elif probe == "dialog":
            fig.dialogs.append(r)
        elif probe in ("auth-prompt", "login-page"):
            fig.logins.append(r)
        elif probe == "console-error" and _browser_own(str(e.get("source") or "")):
            continue  # the browser's own favicon fetch failing: no buyer ever sees it
        elif probe in ("page-error", "console-error"):
            fig.errors.append(r)
        elif probe == "request-failed" and not e.get("aborted") and r.role != "browser":
            fig.errors.append(r)
        elif probe == "action":
            target = f"{e.get('page')}/{e.get('depth')}/{e.get('target')}"
            if e.get("kind") == "input" and last_input.get(step) == target:
                continue  # one field filled = one action, however many input events it fired
            last_input[step] = target if e.get("kind") == "input" else ""
            fig.actions[step] = fig.actions.get(step, 0) + 1
        elif probe == "vital":
            metric, value = e.get("metric"), float(e.get("value") or 0.0)
            if metric == "layout-shift" and not e.get("recent_input"):
                shifts[scope].append((step, r.ts_start, value))
            elif metric == "lcp":
                key = (scope, f"{e.get('page')}:{r.url}")
                lcp[key] = max(lcp.get(key, 0.0), value)
            elif metric == "interaction":
                ikey = (scope, f"{e.get('page')}:{r.url}", e.get("interaction"))
                interactions[ikey] = max(interactions.get(ikey, 0.0), value)
            elif metric in ("cls", "inp", "lcp-wv"):
                # web-vitals reports every change; a document's last report is its value.
                wv[(str(metric), scope, f"{e.get('page')}:{r.url}")] = (
                    value,
                    str(e.get("cause") or ""),
                )
        elif probe == "feedback":
            feedback.append((r.ts_start, float(e.get("value") or 0.0)))
        elif probe == "screen-diff":
            fig.screens[str(e.get("name"))] = dict(e)
    for scope in SCOPES:
        fig.cls[scope] = cls_of((t, v) for _, t, v in shifts.get(scope, []))
        for step in {s for s, _, _ in shifts.get(scope, [])}:
            fig.cls_by_step[(scope, step)] = cls_of(
                (t, v) for s, t, v in shifts[scope] if s == step
            )
        fig.lcp_ms[scope] = round(max((v for (s, _), v in lcp.items() if s == scope), default=0.0))
        fig.inp_ms[scope] = round(
            max((v for (s, _, _), v in interactions.items() if s == scope), default=0.0)
        )
    # Where web-vitals reported, its values (Chrome's definitions) replace the raw estimates.
    for (metric, scope, _doc), (value, cause) in wv.items():
        name = {"cls": "cls", "inp": "inp", "lcp-wv": "lcp"}[metric]
        into: dict[str, float] = {"cls": fig.cls, "inp": fig.inp_ms, "lcp": fig.lcp_ms}[name]
        if (name, scope) not in fig.causes:
            into[scope] = 0.0  # first web-vitals figure of this scope: drop the estimate
        value = round(value, 4) if name == "cls" else round(value)
        if value >= into.get(scope, 0.0):
            into[scope] = value
            fig.causes[(name, scope)] = cause
    if "checkout" in documents_ms:
        fig.timings_ms["checkout_document_ms"] = round(documents_ms["checkout"])
    moments = _moments(records)
    fig.moments = set(moments)
    for name, start, end in TIMINGS:
        if start in moments and end in moments:
            fig.timings_ms[name] = round((moments[end] - moments[start]) * 1000)
    if PAY in moments:
        after = [v for t, v in feedback if t >= moments[PAY]]
        if after:
            fig.timings_ms["pay_to_first_feedback_ms"] = round(after[0])
    for name in moments:
        tab = tab_of(name)
        if tab is not None and name == tab_open(tab):
            span = tab_span(tab)
            if span.end in moments:
                fig.timings_ms[span.figure] = round(
                    (moments[span.end] - moments[span.start]) * 1000
                )
    del fig.popups[:declared]
    _excuse_injected(fig, faults)
    return fig


def _browser_own(source: str) -> bool:
    return urlsplit(source).path == "/favicon.ico"


def _caused_by(r: FlowRecord, url: str, wanted: str) -> bool:
    text = str(r.extra.get("text", ""))
    source = str(r.extra.get("source") or "")
    return "Failed to load resource" in text and wanted in text and source in ("", url)


def _excuse_injected(fig: RunFigures, faults: Sequence[FlowRecord]) -> None:
    """Set aside the errors each injected fault caused: its failed request, one console line.

    A fault paywitness injected (a 503, a reset) shows up in the browser as a failed request on
    that URL and as one "Failed to load resource" console error (Chromium names the status, or
    the net:: error of a reset). Those are the tester's doing, not the shop's; every other error
    of the run still counts.
    """
    for fault in faults:
        f = fault.extra.get("fault") or {}
        status = f.get("status") if f.get("action") == "status" else None
        wanted = f"status of {status}" if status else "net::"
        for probe in ("request-failed", "console-error"):
            for r in fig.errors:
                if r.extra.get("probe") != probe or r.ts_start < fault.ts_start:
                    continue
                failed = probe == "request-failed"
                if r.url == fault.url if failed else _caused_by(r, fault.url, wanted):
                    fig.errors.remove(r)
                    fig.excused.append(r)
                    break
