"""Popup evidence: every popup or new tab the shop opened, with every URL it loaded.

The continuity probe records a `popup` when the shop opens a page (its URL then is usually
`about:blank`) and an `address` each time a watched page's main frame navigates, both with the
page's index in the run. Joined, a popup reads as what the buyer saw: the step it opened in, the
page that opened it and each address it showed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from paywitness.ledger import FlowRecord

__all__ = ["describe_popups", "popup_urls"]


def _probe(r: FlowRecord, name: str) -> bool:
    return r.kind == "client" and r.extra.get("probe") == name


def popup_urls(records: Sequence[FlowRecord]) -> dict[str, list[str]]:
    """Popup record id -> the URLs its page loaded, in order (its own first URL included)."""
    by_run: dict[tuple[str | None, object], list[FlowRecord]] = defaultdict(list)
    for r in records:
        if _probe(r, "popup") or _probe(r, "address"):
            by_run[(r.test, r.extra.get("run"))].append(r)
    out: dict[str, list[str]] = {}
    for recs in by_run.values():
        recs.sort(key=lambda r: (r.ts_start, r.id))
        popups = [r for r in recs if _probe(r, "popup")]
        for n, p in enumerate(popups, start=1):
            # Older bundles have no page index on the popup: the first page is 0, popups follow.
            index = p.extra.get("page", n)
            urls = [p.url] if p.url else []
            for a in recs:
                if _probe(a, "address") and a.extra.get("page") == index and a.url not in urls:
                    urls.append(a.url)
            out[p.id] = urls
    return out


def describe_popups(records: Sequence[FlowRecord]) -> dict[str, str]:
    """Popup record id -> `popup in step 'pay' from OPENER, loaded A -> B`."""
    urls = popup_urls(records)
    out: dict[str, str] = {}
    for r in records:
        if r.id in urls:
            opener = r.extra.get("opener")
            loaded = " -> ".join(urls[r.id]) or "nothing"
            out[r.id] = (
                f"popup in step {r.step!r}"
                + (f" from {opener}" if opener else "")
                + f", loaded {loaded}"
            )
    return out
