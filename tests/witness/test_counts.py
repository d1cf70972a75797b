"""Links and counts from the record: an opened invoice counts; every view counts checks alike."""

from __future__ import annotations

import re

from builders import flow_record

from paywitness.analysers import judge
from paywitness.classify import Classifier
from paywitness.evidence.gate import evaluate_gate
from paywitness.evidence.html_report import render_report
from paywitness.evidence.scorecard import build_scorecard, scorecard_table
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.report_text import verdict_table


def rec(profile: Profile, host: str, method: str, path: str, step: str = "pay") -> FlowRecord:
    return flow_record(host, path, method, classifier=Classifier(profile), duration=0.1, step=step)


def bought(profile: Profile, invoice_host: str) -> list[FlowRecord]:
    return [
        rec(profile, "api.commerce.test", "POST", "/api/orders"),
        rec(profile, "pay.gateway.test", "POST", "/v1/charges"),
        rec(profile, "api.commerce.test", "POST", "/api/orders/A1/pay"),
        rec(profile, invoice_host, "GET", "/invoices/A1", step="confirm"),  # the buyer opened it
    ]


def invoice_check(records: list[FlowRecord], profile: Profile) -> tuple[str, str]:
    verdict = judge(records, profile)
    (check,) = [c for c in verdict.categories["payment"].checks if c.id == "payment.invoice-link"]
    return check.status, check.summary


def test_an_opened_invoice_is_a_link_the_buyer_was_given(demo_profile: Profile) -> None:
    status, summary = invoice_check(bought(demo_profile, "invoice.commerce.test"), demo_profile)
    assert (status, summary) == ("pass", "1 invoice link(s) shown or opened, 0 pointing outside "
                                 "commerce, gateway")  # fmt: skip
    status, _ = invoice_check(bought(demo_profile, "shop.social.test"), demo_profile)
    assert status == "fail"


def test_the_table_the_scorecard_and_the_report_count_checks_alike(
    demo_profile: Profile,
) -> None:
    verdict = judge(bought(demo_profile, "invoice.commerce.test"), demo_profile)
    data = verdict.to_dict()
    card = build_scorecard(data, evaluate_gate(data, demo_profile.gate))
    pay = verdict.categories["payment"]
    judged = [c for c in pay.checks if c.status != "not_observed"]
    passed = sum(c.status == "pass" for c in judged)
    unjudged = len(pay.checks) - len(judged)
    assert unjudged, "the demo's coverage check is not judged without a browser"
    expected = f"{passed}/{len(judged)} passed, {unjudged} not judged"
    table = verdict_table(verdict)
    assert re.search(rf"^Payment\s+{re.escape(expected)}\s+", table, re.M), table
    assert re.search(rf"^\s+Payment .*{re.escape(expected)}$", scorecard_table(card), re.M)
    assert f"<td>{expected}</td>" in render_report(data, card, {}, [])
