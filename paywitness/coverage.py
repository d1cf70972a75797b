"""Coverage: what the browser itself requested against what the proxy recorded.

A fixture watches each browser context (Playwright's `requestfinished`/`requestfailed`) and
writes `client` records to the ledger. Any request the browser completed that the proxy never
saw went around it (QUIC, a service worker, a route fulfilled in the page, a direct socket): a
verdict built on the rest would be built on less than everything, so below the profile's
threshold the run is `inconclusive`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from paywitness.classify import MARKER_HOST, Classifier
from paywitness.ledger import FlowRecord
from paywitness.verdict import AnalysisContext, Check, Finding

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request

    from paywitness.records import RecordBook

__all__ = ["ClientWatch", "coverage_checks", "page_attributed", "page_requests"]

_EXCLUDED_ROLES = ("browser", "paywitness")
_IDEMPOTENT = ("GET", "HEAD")


class ClientWatch:
    """Records every request a browser context made, as the browser saw it."""

    def __init__(self, book: RecordBook) -> None:
        self.book = book

    def watch(self, context: BrowserContext) -> None:
        """Start recording this context's requests (finished and failed)."""
        context.on("requestfinished", lambda r: self._record(r, "finished"))
        context.on("requestfailed", lambda r: self._record(r, "failed"))

    def _record(self, request: Request, outcome: str) -> None:
        u = urlsplit(request.url)
        if u.scheme not in ("http", "https") or not u.hostname or u.hostname == MARKER_HOST:
            return
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        extra: dict[str, Any] = {
            "probe": "request",  # beside the seamless probe's own `client` records
            "outcome": outcome,
            "resource_type": request.resource_type,
        }
        if outcome == "failed":
            extra["failure"] = request.failure
        if request.service_worker is not None:
            extra["service_worker"] = True
        self.book.note(
            "client",
            request.url,
            page_request=True,
            method=request.method,
            scheme=u.scheme,
            port=u.port or (443 if u.scheme == "https" else 80),
            path=path,
            extra=extra,
        )


def _key(r: FlowRecord) -> tuple[str, str, str]:
    return (r.method.upper(), r.host, r.path.split("?", 1)[0])


def page_requests(records: Sequence[FlowRecord]) -> list[FlowRecord]:
    """What the browser's pages, frames and workers requested (ClientWatch's records)."""
    return [r for r in records if r.kind == "client" and r.extra.get("probe") == "request"]


def page_attributed(
    records: Sequence[FlowRecord], classifier: Classifier | None = None
) -> list[FlowRecord]:
    """The records with noise decided by who sent them, not by host alone.

    A proxy record classified as browser noise by `noise.hosts` whose host and path a page of
    the same test requested is the target's traffic: it is classified again as a page request
    (its role rules, else `unknown`; without a classifier `unknown`) and judged like any
    other. Only requests no page, frame or worker made (component updates, safe browsing) stay
    noise. Without browser-side records (a
    phone, a stored proxy-only bundle) nothing changes.
    """
    asked = {(r.test, r.host, r.path.split("?", 1)[0]) for r in page_requests(records)}
    if not asked:
        return list(records)
    out: list[FlowRecord] = []
    for r in records:
        noise = r.role == "browser" and r.rule.startswith("noise.")
        if noise and (r.test, r.host, r.path.split("?", 1)[0]) in asked:
            extra = {**r.extra, "noise_overruled": r.rule}
            if classifier is None:  # no profile at hand: a noise host matched no role rule
                r = replace(r, role="unknown", rule=f"page-request ({r.rule} not applied)")
            else:
                c = classifier.classify(r.host, r.method, r.path, page=True)
                r = replace(r, role=c.role, rule=c.rule, payment_class=c.payment_class)
            r = replace(r, extra=extra)
        out.append(r)
    return out


def _bypassed(records: list[FlowRecord]) -> tuple[list[FlowRecord], list[FlowRecord]]:
    """(client requests judged, those the proxy never saw), matched per test."""
    by_test: dict[str | None, list[FlowRecord]] = defaultdict(list)
    for r in records:
        by_test[r.test].append(r)
    judged: list[FlowRecord] = []
    missing: list[FlowRecord] = []
    for recs in by_test.values():
        seen = Counter(_key(r) for r in recs if r.kind in ("http", "websocket"))
        ever = set(seen)
        for c in recs:
            if c.kind != "client" or c.extra.get("probe") != "request":
                continue
            if c.role in _EXCLUDED_ROLES:
                continue
            if c.extra.get("outcome") != "finished":
                continue  # a failed request reached no one; nothing was hidden from the proxy
            judged.append(c)
            k = _key(c)
            if seen[k] > 0:
                seen[k] -= 1
            elif c.method.upper() in _IDEMPOTENT and k in ever:
                continue  # the browser's cache: the proxy saw it fetched once
            else:
                missing.append(c)
    return judged, missing


def _ratio(seen: int, total: int) -> float:
    return 1.0 if total == 0 else seen / total


def coverage_checks(ctx: AnalysisContext) -> tuple[list[Check], list[Finding]]:
    """Coverage checks (payment-class and overall) and one finding per bypassing request."""
    policy = ctx.profile.coverage
    records = list(ctx.records)
    if not policy.enabled:
        return [], []
    if not any(r.kind == "client" and r.extra.get("probe") == "request" for r in records):
        note = "coverage not measured: no browser-side records (e.g. a phone or stored bundle)"
        return [Check("coverage.measured", "payment", "not_observed", note, required=False)], []
    judged, missing = _bypassed(records)
    pay_judged = [r for r in judged if r.payment_class]
    pay_missing = [r for r in missing if r.payment_class]
    findings = [
        Finding(
            category="payment",
            severity="major",
            rule_id="coverage.bypassed-proxy",
            message=(
                f"{r.method} {r.url} ({r.role}{', ' + r.payment_class if r.payment_class else ''})"
                f" in step {r.step!r} was completed by the browser but never reached the proxy"
                + (" (a service worker made it)" if r.extra.get("service_worker") else "")
                + "; what the proxy did not see cannot be judged; "
                + ctx.attribution.describe(r)
            ),
            flow_ids=[r.id],
            evidence=[
                {
                    **ctx.attribution.evidence(r),
                    "flow_id": r.id,
                    "step": r.step,
                    "method": r.method,
                    "url": r.url,
                    "role": r.role,
                    "endpoint": r.payment_class,
                    "status": None,
                }
            ],
        )
        for r in missing
    ]
    checks = []
    for cid, asked, unseen, need, what in (
        ("coverage.payment-class", pay_judged, pay_missing, policy.payment_class, "payment-class"),
        ("coverage.overall", judged, missing, policy.overall, "all"),
    ):
        # Each check's own per-role figures: what it judged, not every request.
        per_role = _per_role(asked, unseen)
        got, total = len(asked) - len(unseen), len(asked)
        ratio = _ratio(got, total)
        ok = ratio >= need
        roles = ", ".join(f"{role} {figure}" for role, figure in per_role.items())
        checks.append(
            Check(
                id=cid,
                category="payment",
                status="pass" if ok else "not_observed",
                summary=(
                    f"the proxy saw {got} of {total} {what} request(s) the browser made "
                    f"({ratio:.1%}, {need:.0%} needed)" + (f"; per role: {roles}" if roles else "")
                ),
                figures={"seen": got, "requested": total, "threshold": need, "per_role": per_role},
            )
        )
    return checks, findings


def _per_role(asked: list[FlowRecord], unseen: list[FlowRecord]) -> dict[str, str]:
    """`role -> seen/requested` over the requests one check judged."""
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in asked:
        by_role[r.role][1] += 1
    for r in unseen:
        by_role[r.role][0] += 1
    return {role: f"{total - miss}/{total}" for role, (miss, total) in sorted(by_role.items())}
