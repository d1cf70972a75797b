"""TLS handshakes the client refused: the verdict says the traffic was not inspected."""

from __future__ import annotations

from builders import flow_record

from paywitness.analysers import judge
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.witness_mode.checklist import render_checklist


def http(n: int, host: str, role: str, path: str, pay: str | None = None) -> FlowRecord:
    return flow_record(host, path, "POST", id=f"r{n}", ts=n, role=role, payment_class=pay)


def refused(n: int, host: str, role: str) -> FlowRecord:
    return flow_record(
        host, kind="tls", method="TLS", id=f"t{n}", ts=n, role=role, url="",
        error="The client does not trust the proxy's certificate",
    )  # fmt: skip


PAID = [
    http(1, "api.commerce.test", "commerce", "/api/orders", "create-order"),
    http(2, "pay.gateway.test", "gateway", "/v1/charges", "charge"),
]


def test_paid_in_commerce_passes_without_refusals(demo_profile: Profile) -> None:
    assert judge(PAID, demo_profile).verdict == "pass"


def test_a_refused_handshake_to_a_role_makes_a_pass_inconclusive(demo_profile: Profile) -> None:
    v = judge([*PAID, refused(3, "api.commerce.test", "commerce")], demo_profile)
    assert v.verdict == "inconclusive"
    (reason,) = v.reasons
    assert "api.commerce.test (commerce)" in reason
    assert "certificate pinning" in reason


def test_browser_noise_refusals_do_not_count(demo_profile: Profile) -> None:
    v = judge([*PAID, refused(3, "update.googleapis.com", "browser")], demo_profile)
    assert v.verdict == "pass"


def test_an_observed_violation_still_fails(demo_profile: Profile) -> None:
    social = http(3, "api.social.test", "social", "/api/orders/1/pay", "pay")
    v = judge([*PAID, social, refused(4, "shop.social.test", "social")], demo_profile)
    assert v.verdict == "fail"
    assert [f.rule_id for f in v.findings] == ["payment.role-not-allowed"]


def test_checklist_shows_progress_and_what_is_missing(demo_profile: Profile) -> None:
    text = render_checklist(PAID[:1], demo_profile, ["browse", "checkout"])
    assert "step checkout; marked: browse, checkout" in text
    assert "payment-class requests seen: 1, all to commerce" in text
    assert "still missing: payment: only 1 payment-class request(s) observed" in text
    done = render_checklist([*PAID, refused(3, "shop.social.test", "social")], demo_profile, [])
    assert "TLS refused by the client (not inspected): 1 (shop.social.test)" in done
    social = http(4, "api.social.test", "social", "/api/orders/1/pay", "pay")
    bad = render_checklist([*PAID, social], demo_profile, ["pay"])
    assert "NOT ALLOWED: social" in bad
    assert "verdict so far: fail" in bad
