"""The resilience analyser: double charges per idempotency key, fallbacks after a failure."""

from __future__ import annotations

from builders import flow_record

from paywitness.analysers import judge
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile


def rec(
    c: Classifier, host: str, method: str, path: str, status: int | None = 200, **extra: object
) -> FlowRecord:
    return flow_record(
        host, path, method, classifier=c, status=status, duration=0.5, test="t::one", **extra
    )


def _base(c: Classifier) -> list[FlowRecord]:
    return [
        rec(c, "api.commerce.test", "POST", "/api/orders", 201),
        rec(c, "api.commerce.test", "POST", "/api/orders/A/pay"),
    ]


def test_replayed_retry_is_one_charge(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    timeout = {"action": "timeout", "phase": "response", "upstream_status": 200}
    records = [
        *_base(c),
        rec(c, "pay.gateway.test", "POST", "/v1/charges", 200, error="Connection killed.",
            fault=timeout, idempotency_key="sha256:k1", response_sha256="b1"),
        rec(c, "pay.gateway.test", "POST", "/v1/charges", 200, idempotency_key="sha256:k1",
            idempotent_replayed=True, response_sha256="b1"),
    ]  # fmt: skip
    v = judge(records, demo_profile)
    assert v.verdict == "pass", v.to_dict()
    checks = {ch.id: ch for ch in v.categories["payment"].checks}
    assert checks["payment.single-charge"].status == "pass"


def test_two_new_charges_for_one_key_fail_with_both_flows(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    first = rec(c, "pay.gateway.test", "POST", "/v1/charges", 200, error="Connection killed.",
                fault={"action": "timeout", "phase": "response", "upstream_status": 200},
                idempotency_key="sha256:k1", response_sha256="b1")  # fmt: skip
    second = rec(c, "pay.gateway.test", "POST", "/v1/charges", 200,
                 idempotency_key="sha256:k1", response_sha256="b2")  # fmt: skip
    v = judge([*_base(c), first, second], demo_profile)
    assert v.verdict == "fail"
    (f,) = [f for f in v.findings if f.rule_id == "payment.double-charge"]
    assert f.flow_ids == [first.id, second.id]
    assert v.categories["payment"].status == "fail"


def test_proxy_answered_fault_is_no_charge(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    records = [
        *_base(c),
        rec(c, "pay.gateway.test", "POST", "/v1/charges", 502, idempotency_key="sha256:k",
            fault={"action": "status", "phase": "request", "status": 502}),
        rec(c, "pay.gateway.test", "POST", "/v1/charges", 200, idempotency_key="sha256:k",
            response_sha256="x"),
    ]  # fmt: skip
    assert judge(records, demo_profile).verdict == "pass"


def test_payment_to_social_after_commerce_failed_is_a_fallback(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    failed = rec(c, "api.commerce.test", "POST", "/api/orders/A/pay", 503)
    fallback = rec(c, "api.social.test", "POST", "/api/orders/A/pay", 200)
    v = judge([rec(c, "api.commerce.test", "POST", "/api/orders", 201), failed, fallback],
              demo_profile)  # fmt: skip
    rules = {f.rule_id: f for f in v.findings}
    assert rules["payment.fallback-to-social"].flow_ids == [failed.id, fallback.id]
    assert "payment.role-not-allowed" in rules


def test_failure_then_retry_in_commerce_passes(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    records = [
        rec(c, "api.commerce.test", "POST", "/api/orders", 503),
        *_base(c),
    ]
    v = judge(records, demo_profile)
    assert v.verdict == "pass"
    checks = {ch.id: ch for ch in v.categories["payment"].checks}
    assert checks["payment.no-fallback"].status == "pass"
    assert checks["payment.no-fallback"].figures == {"failures": 1, "fallbacks": 0}


def test_delayed_charge_still_counts(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    delayed = rec(c, "pay.gateway.test", "POST", "/v1/charges", 200, idempotency_key="sha256:k",
                  fault={"action": "delay", "phase": "request", "ms": 800})  # fmt: skip
    v = judge([*_base(c), delayed], demo_profile)
    checks = {ch.id: ch for ch in v.categories["payment"].checks}
    assert checks["payment.single-charge"].figures["keys"] == 1
