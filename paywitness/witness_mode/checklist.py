"""The guided checklist: what to do next, what was observed so far, what a verdict still needs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from paywitness.analysers import judge
from paywitness.analysers.interception import BEFORE_FIRST_STEP
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile

__all__ = ["NEXT_ACTION", "SETUP_STEP", "STEP_HELP", "render_checklist", "split_refusals"]

#: The recorder's step before the first mark: flows then belong to setting up, not the purchase.
SETUP_STEP = BEFORE_FIRST_STEP

#: When to press each step mark: one text for the terminal, the step page and the README.
STEP_HELP: dict[str, str] = {
    "browse": "before you open the shop and look at a product",
    "checkout": "just before you press Buy / Checkout",
    "pay": "after typing the buyer values, just before you press Pay",
    "confirm": "when the shop says the order is confirmed; then open the invoice it shows",
    "shop": "before you open the storefront's Shop tab (the merchant's own page)",
    "orders": "before you open the Orders tab (your order list)",
}

#: What the person does after marking each step ("" = before any mark).
NEXT_ACTION: dict[str, str] = {
    "": "mark 'browse', then open the shop and look at a product",
    "browse": "mark 'checkout' just before you press Buy / Checkout",
    "checkout": "type the buyer values shown at the start, then mark 'pay' before pressing Pay",
    "pay": "press Pay and finish any bank or OTP page; mark 'confirm' when the order is confirmed",
    "confirm": "open the invoice link; mark 'shop' before you open the Shop tab",
    "shop": "look at the merchant's shop page; mark 'orders' before you open the Orders tab",
    "orders": "look at your order list, then Finish",
}


def _spread(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {role}" for role, n in sorted(counter.items())) or "none"


def split_refusals(records: Sequence[FlowRecord]) -> tuple[list[FlowRecord], list[FlowRecord]]:
    """Refused TLS handshakes: (before the first step mark = setup, during the purchase)."""
    # The browser's own background hosts are not the shop's: their refusals hide nothing.
    refused = [r for r in records if r.kind == "tls" and r.role not in ("browser", "paywitness")]
    setup = [r for r in refused if r.step == SETUP_STEP]
    return setup, [r for r in refused if r.step != SETUP_STEP]


def _hosts(records: Sequence[FlowRecord]) -> str:
    return ", ".join(sorted({r.host for r in records}))


def render_checklist(records: Sequence[FlowRecord], profile: Profile, steps: Sequence[str]) -> str:
    """A few lines for the terminal, judged with the same analysers as the final verdict."""
    current = steps[-1] if steps else ""
    target = [r for r in records if r.kind == "http" and r.role not in ("browser", "paywitness")]
    pay = [r for r in target if r.payment_class]
    pay_roles = Counter(r.role for r in pay)
    allowed = set(profile.payment.allowed_roles)
    where = (
        f"all to {', '.join(sorted(pay_roles))}"
        if pay and set(pay_roles) <= allowed
        else f"{_spread(pay_roles)} (NOT ALLOWED: {', '.join(sorted(set(pay_roles) - allowed))})"
        if pay
        else "none yet"
    )
    setup, refused = split_refusals(records)
    verdict = judge(records, profile)
    lines = [
        f"paywitness checklist: step {current or '(none)'}; marked: {', '.join(steps) or 'none'}",
        f"  next: {NEXT_ACTION.get(current, 'Finish when you are done')}",
        f"  requests seen: {len(target)} ({_spread(Counter(r.role for r in target))})",
        f"  payment-class requests seen: {len(pay)}, {where}",
    ]
    if setup:
        lines.append(
            f"  setup: {len(setup)} TLS refusal(s) before the first step ({_hosts(setup)}): "
            "the certificate was not installed yet; not counted"
        )
    if refused:
        lines.append(
            f"  TLS refused by the client (not inspected): {len(refused)} ({_hosts(refused)})"
        )
    for name, cat in verdict.categories.items():
        lines.append(f"  {name}: {cat.status}")
    if verdict.verdict == "inconclusive":
        lines += [f"  still missing: {r}" for r in verdict.reasons]
    else:
        lines.append(f"  enough observed to judge; verdict so far: {verdict.verdict}")
    return "\n".join(lines)
