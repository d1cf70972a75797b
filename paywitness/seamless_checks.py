"""The names of the seamless checks and of the timing figures they judge.

The moments the timings are taken between belong to `paywitness.moments` (the documented
vocabulary); this module only names the figures built from them.
"""

from __future__ import annotations

import re

from paywitness.moments import TIMED_SPANS

__all__ = [
    "CHECKS",
    "TIMINGS",
    "TIMING_NAME",
    "check_id",
    "short_name",
]

# (figure name, start moment, end moment): how long the buyer waited for each answer.
TIMINGS: tuple[tuple[str, str, str], ...] = tuple((t.figure, t.start, t.end) for t in TIMED_SPANS)
# Every timing figure name the analyser can produce (limits in a profile are checked against it).
TIMING_NAME = re.compile(
    r"^(buy_to_checkout_ready_ms|pay_to_confirmation_ms|checkout_document_ms|"
    r"pay_to_first_feedback_ms|open_[a-z0-9_-]+_tab_ms)$"
)
# Every seamless check, by its short name (`seamless.<name>` in reports).
CHECKS: tuple[str, ...] = (
    "observed",
    "address-bar",
    "new-origins",
    "popups",
    "redirects",
    "dialogs",
    "login-prompts",
    "errors",
    "cls",
    "inp",
    "lcp",
    "cls-per-step",
    "actions",
    "navigations",
    "timing",
    "screens",
)


def short_name(name: str) -> str:
    """`seamless.screens` or `screens` -> `screens`."""
    return name.removeprefix("seamless.")


def check_id(name: str) -> str:
    return "seamless." + short_name(name)
