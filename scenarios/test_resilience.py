"""Resilience: with faults injected at the proxy, the buyer is charged once, told, and can retry.

One scenario per rule of the profile's `resilience` section: the rule's faults are injected
(`@pytest.mark.faults`, rules by the profile's endpoint names) while the buyer purchases with
the default method. The expected outcome is the rule's: `confirmation` (the shop recovers by
itself) or `visible_error` (a message within N s; the buyer pays again and is confirmed). Then:
exactly one successful charge per order in the ledger (and, on the demo shop, in the gateway's
own books), and no payment-class request to a forbidden role while an allowed one was failing.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from paywitness import moments
from paywitness.analysers.resilience import server_status
from paywitness.buyers import Buyer
from paywitness.canaries import Canary
from paywitness.flow import StepRunner, default_method, flow_steps, scope_for
from paywitness.flow_spec import ResilienceRule
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.pytest_plugin.keys import SESSION_KEY
from paywitness.scenario import buyer_values
from paywitness.session import Target
from paywitness.witness import Witness

pytestmark = [pytest.mark.paywitness_category("payment")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One scenario per resilience rule of the profile, its faults injected by its marker."""
    if "resilience_rule" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(SESSION_KEY, None)
    rules = session.profile.resilience if session is not None else []
    if not rules:
        skip = pytest.mark.skip(reason="the profile lists no resilience rules (see own-shop.md)")
        metafunc.parametrize("resilience_rule", [pytest.param(None, marks=skip, id="none")])
        return
    metafunc.parametrize(
        "resilience_rule",
        [pytest.param(r, marks=pytest.mark.faults(*r.faults), id=r.name) for r in rules],
    )


def _successful_charges(records: list[FlowRecord], endpoint: str) -> list[FlowRecord]:
    distinct: dict[object, FlowRecord] = {}
    for r in records:
        status = server_status(r)
        if r.kind != "http" or r.payment_class != endpoint or status is None:
            continue
        if 200 <= status < 300 and not r.extra.get("idempotent_replayed"):
            distinct.setdefault(r.extra.get("response_sha256") or r.id, r)
    return list(distinct.values())


def _judge(witness: Witness, target: Target, profile: Profile, order_number: str | None) -> None:
    records = witness.records()
    assert any("fault" in r.extra for r in records), "the fault was never injected"
    endpoint = profile.payment.charge_endpoint or "charge"
    charges = _successful_charges(records, endpoint)
    assert len(charges) == 1, f"{len(charges)} successful charges in the ledger: {charges}"
    allowed = set(profile.payment.allowed_roles)
    strays = [r for r in records if r.payment_class and r.role not in allowed]
    assert not strays, f"payment-class requests to a forbidden role: {strays}"
    if target.demo is not None and order_number:
        books = target.demo.charges_for(order_number)
        succeeded = [c for c in books if c["status"] == "succeeded"]
        assert len(succeeded) == 1, f"the gateway holds {len(succeeded)} charges: {books}"
        order = target.demo.order(order_number)
        assert order is not None
        assert order["status"] == "paid"
    witness.assert_pass()


def _moment_index(steps: list[Any], name: str) -> int:
    return next(i for i, s in enumerate(steps) if s.moment == name)


def test_fault_then_paid_once(
    page: Page,
    witness: Witness,
    paywitness_profile: Profile,
    paywitness_target: Target,
    paywitness_seed: int,
    buyer: Buyer,
    resilience_rule: ResilienceRule,  # its faults are injected through the parameter's marker
) -> None:
    rule = resilience_rule
    hints = paywitness_profile.flow
    method = default_method(hints)
    assert hints is not None
    values = buyer_values(paywitness_profile, buyer, paywitness_seed, method)
    if values.card_number:
        witness.plant([Canary("card", values.card_number)])
    steps, where = flow_steps(hints, method)
    pay_at = _moment_index(steps, moments.PAY)
    done_at = _moment_index(steps, moments.CONFIRMATION)
    seen: dict[str, str] = {}

    def on_moment(name: str, scope: Page | FrameLocator) -> None:
        if name == moments.CONFIRMATION and hints.order_number:
            seen["order"] = scope.locator(hints.order_number).first.inner_text().strip()

    with StepRunner(page, witness, values, where=where, on_moment=on_moment) as runner:
        runner.run(steps[:pay_at])
        pay = steps[pay_at]
        # A hurried buyer clicks twice; the rule's fault keeps the first click in flight.
        runner.run_one(pay, f"{where}[{pay_at}]", double=rule.double_click_pay)
        if rule.expect == "visible_error":
            assert rule.error is not None
            error = scope_for(runner.page, rule.frame).locator(rule.error).first
            expect(error).to_be_visible(timeout=rule.within_s * 1000)
            expect(error).not_to_have_text("")
            retry = rule.retry or [pay.model_copy(update={"moment": None, "step": None})]
            runner.run(retry, f"resilience[{rule.name}].retry")
        for i in range(pay_at + 1, done_at + 1):
            runner.run_one(steps[i], f"{where}[{i}]")
    _judge(witness, paywitness_target, paywitness_profile, seen.get("order"))
