"""The category vocabulary, defined once: the ministry's three groups plus continuity.

`payment`, `data` (separation of data and users), `merchant_ops` (the displays: shop, product
and order pages) are weighted like the trade ministry (60/20/20); `seamless` (the buyer never
noticed the switch) is a gate of its own, outside the weighting.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = ["CATEGORIES", "CATEGORY_TITLES", "WEIGHTS", "Category", "checks_text"]

Category = Literal["payment", "data", "merchant_ops", "seamless"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
CATEGORY_TITLES: dict[str, str] = {
    "payment": "Payment",
    "data": "Data separation",
    "merchant_ops": "Merchant operations",
    "seamless": "Seamless",
}
#: The trade ministry's weighting of the migration (payment ~60%, data and displays the rest).
WEIGHTS: dict[str, float] = {"payment": 0.6, "data": 0.2, "merchant_ops": 0.2}


def checks_text(row: dict[str, Any]) -> str:
    """How checks are counted everywhere (terminal table, scorecard, report): passed of judged,
    and how many could not be judged."""
    if not row["checks"]:
        return "no checks"
    text = f"{row['passed']}/{row['judged']} passed"
    unjudged = row["checks"] - row["judged"]
    return text + (f", {unjudged} not judged" if unjudged else "")
