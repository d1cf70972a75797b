"""The moments of a purchase: the named instants the seamless figures are measured between.

A moment is marked by `witness.moment(name, page)` in a Python scenario, or by `moment: NAME` on
a profile flow step (after the step's action has completed). The standard purchase marks:

| moment           | marked when                                               |
|------------------|-----------------------------------------------------------|
| `browse`         | the product is shown (the storefront is ready)            |
| `buy`            | just before the buyer clicks Buy                          |
| `checkout-ready` | the checkout is ready to be filled in                     |
| `pay`            | just before the buyer clicks Pay                          |
| `confirmation`   | the confirmation (or the expected payment error) is shown |
| `<tab>-open`     | just before the buyer opens a storefront tab (`orders`)   |
| `<tab>-ready`    | that tab shows its content                                |

Each timing figure spans two moments (`TIMED_SPANS`, `tab_span`); a flow that omits one of a
check's moments leaves the check not judged, with `not_judged_reason` naming the moment to add.
Screenshots are taken at the moments the profile lists in `seamless.screens`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "BROWSE",
    "BUY",
    "CHECKOUT_READY",
    "CHECK_MOMENTS",
    "CONFIRMATION",
    "PAY",
    "STANDARD_MOMENTS",
    "TIMED_SPANS",
    "MomentName",
    "MomentSpan",
    "check_moment",
    "is_moment",
    "marked_before",
    "marked_in",
    "missing_moments",
    "not_judged_reason",
    "tab_of",
    "tab_open",
    "tab_ready",
    "tab_span",
]

#: The fixed moments of every purchase (tab moments are built with `tab_open`/`tab_ready`).
MomentName = Literal["browse", "buy", "checkout-ready", "pay", "confirmation"]

BROWSE: Final = "browse"
BUY: Final = "buy"
CHECKOUT_READY: Final = "checkout-ready"
PAY: Final = "pay"
CONFIRMATION: Final = "confirmation"
STANDARD_MOMENTS: Final[tuple[MomentName, ...]] = (BROWSE, BUY, CHECKOUT_READY, PAY, CONFIRMATION)

# A tab name is a step name (lowercase, digits, - _), as in the profile's `flow.tabs`.
_TAB = r"[a-z][a-z0-9_-]{0,39}"
_TAB_MOMENT = re.compile(rf"^(?P<tab>{_TAB})-(?P<edge>open|ready)$")


def tab_open(tab: str) -> str:
    """The moment just before the buyer opens the storefront tab `tab`."""
    return f"{tab}-open"


def tab_ready(tab: str) -> str:
    """The moment the storefront tab `tab` shows its content."""
    return f"{tab}-ready"


def tab_of(moment: str) -> str | None:
    """The tab a `<tab>-open`/`<tab>-ready` moment belongs to; None for any other moment."""
    if moment in STANDARD_MOMENTS:
        return None
    m = _TAB_MOMENT.match(moment)
    return m.group("tab") if m else None


def marked_before(name: str) -> bool:
    """True for a moment that names a buyer action (`buy`, `pay`, `<tab>-open`): a flow step
    marks it as the action starts; any other moment (something shown) once the step is done."""
    return name in (BUY, PAY) or (tab_of(name) is not None and name.endswith("-open"))


def is_moment(name: str) -> bool:
    """True for a name of the vocabulary: a standard moment or a tab's open/ready."""
    return name in STANDARD_MOMENTS or _TAB_MOMENT.match(name) is not None


def check_moment(name: str) -> str:
    """`name` if it is a moment; a ValueError listing the vocabulary otherwise."""
    if not is_moment(name):
        raise ValueError(
            f"{name!r} is not a moment (use one of {', '.join(STANDARD_MOMENTS)}, "
            "or <tab>-open / <tab>-ready for a storefront tab, e.g. orders-open)"
        )
    return name


@dataclass(frozen=True)
class MomentSpan:
    """A timing figure: how long the buyer waited from `start` to `end`."""

    figure: str
    start: str
    end: str
    what: str

    @property
    def moments(self) -> tuple[str, str]:
        return (self.start, self.end)


#: The timed spans of every purchase (figure names as reported in `timings_ms`).
TIMED_SPANS: Final[tuple[MomentSpan, ...]] = (
    MomentSpan("buy_to_checkout_ready_ms", BUY, CHECKOUT_READY, "Buy click to a ready checkout"),
    MomentSpan("pay_to_confirmation_ms", PAY, CONFIRMATION, "Pay click to the confirmation"),
)


def tab_span(tab: str) -> MomentSpan:
    """The timing of opening the storefront tab `tab` (figure `open_<tab>_tab_ms`)."""
    return MomentSpan(f"open_{tab}_tab_ms", tab_open(tab), tab_ready(tab), f"opening the {tab} tab")


#: The moments each seamless check needs to be judged (a check not listed needs none).
CHECK_MOMENTS: Final[dict[str, tuple[str, ...]]] = {
    "seamless.timing": tuple(m for span in TIMED_SPANS for m in span.moments),
}


def missing_moments(needed: Iterable[str], marked: Iterable[str]) -> list[str]:
    """The moments of `needed` that were not marked, in `needed`'s order."""
    have = set(marked)
    return [m for m in dict.fromkeys(needed) if m not in have]


def marked_in(records: Iterable[Any]) -> dict[str, set[str]]:
    """The moments each test marked, from its probe records (`probe: moment`, `name`)."""
    out: dict[str, set[str]] = {}
    for r in records:
        extra = getattr(r, "extra", None) or {}
        if extra.get("probe") == "moment" and getattr(r, "test", None):
            out.setdefault(str(r.test), set()).add(str(extra.get("name")))
    return out


def not_judged_reason(check: str, missing: Iterable[str]) -> str:
    """The message of a check left not judged because the purchase never marked `missing`:
    which figures could not be computed, which moments to mark and how."""
    names = list(dict.fromkeys(missing))
    listed = ", ".join(f"`{m}`" for m in names) or "(none)"
    spans = [s.figure for s in TIMED_SPANS if set(s.moments) & set(names)]
    figures = f"{', '.join(spans)} cannot be computed" if spans else f"{check} cannot be judged"
    steps = " and ".join(f"`moment: {m}`" for m in names)
    calls = " and ".join(f'`witness.moment("{m}", page)`' for m in names)
    where = (
        "the flow step where it happens" if len(names) == 1 else "the flow steps where they happen"
    )
    return (
        f"not judged: {figures}: the purchase never marked the moment(s) {listed}; add {steps} "
        f"to {where} (in a Python scenario: {calls}; see docs/own-shop.md, Moments)"
    )
