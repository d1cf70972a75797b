"""The names of the seamless checks and of the purchase moments their figures are taken between.

Moment names are the strings the purchase driver emits today; `paywitness.moments` (the
documented vocabulary) will own them, and this module then re-exports its constants.
"""

from __future__ import annotations

import re

__all__ = [
    "CHECKS",
    "MOMENTS",
    "TIMINGS",
    "TIMING_NAME",
    "check_id",
    "short_name",
]

# The moments the seamless figures are measured between (see flow.run_purchase).
MOMENTS: dict[str, str] = {
    "browse": "browse",
    "buy": "buy",
    "checkout_ready": "checkout-ready",
    "pay": "pay",
    "confirmation": "confirmation",
    "tab_open": "{tab}-open",
    "tab_ready": "{tab}-ready",
}
# (figure name, start moment, end moment): how long the buyer waited for each answer.
TIMINGS: tuple[tuple[str, str, str], ...] = (
    ("buy_to_checkout_ready_ms", MOMENTS["buy"], MOMENTS["checkout_ready"]),
    ("pay_to_confirmation_ms", MOMENTS["pay"], MOMENTS["confirmation"]),
)
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
