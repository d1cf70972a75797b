from __future__ import annotations

from builders import flow_record

from paywitness.analysers import judge
from paywitness.classify import Classifier


def rec(classifier, host, method, path, step="pay", kind="http", **extra):
    return flow_record(host, path, method, kind=kind, classifier=classifier, step=step, **extra)


def compliant(c):
    return [
        rec(c, "shop.social.test", "GET", "/", step="browse"),
        rec(c, "api.commerce.test", "POST", "/api/orders"),
        rec(c, "pay.gateway.test", "POST", "/v1/charges"),
        rec(c, "api.commerce.test", "POST", "/api/orders/1/pay"),
    ]


def test_compliant_passes(demo_profile):
    c = Classifier(demo_profile)
    v = judge(compliant(c), demo_profile)
    pay = v.categories["payment"]
    assert pay.status == "pass"
    # A proxy-only run (a phone) sees no screen: seamless and displays are not judged, never
    # counted as passed, and payment routing still decides.
    assert v.verdict == "pass"
    assert v.categories["seamless"].status == "not_judged"
    assert v.categories["merchant_ops"].status == "not_judged"
    assert pay.observed["payment_flows_by_role"] == {"commerce": 2, "gateway": 1}


def test_payment_on_social_fails_naming_the_flow(demo_profile):
    c = Classifier(demo_profile)
    records = [*compliant(c)[:3], rec(c, "api.social.test", "POST", "/api/orders/1/pay")]
    v = judge(records, demo_profile)
    assert v.verdict == "fail"
    (finding,) = v.findings
    assert finding.rule_id == "payment.role-not-allowed"
    assert "https://api.social.test/api/orders/1/pay" in finding.message
    assert finding.evidence[0]["role"] == "social"
    assert finding.evidence[0]["step"] == "pay"


def test_nothing_observed_is_inconclusive_never_pass(demo_profile):
    c = Classifier(demo_profile)
    v = judge([rec(c, "shop.social.test", "GET", "/", step="browse")], demo_profile)
    assert v.verdict == "inconclusive"
    assert any("payment-class" in r for r in v.reasons)


def test_too_few_payment_flows_is_inconclusive(demo_profile):
    c = Classifier(demo_profile)
    v = judge([rec(c, "api.commerce.test", "POST", "/api/orders")], demo_profile)
    assert v.verdict == "inconclusive"


def test_browser_noise_is_not_target_traffic(demo_profile):
    c = Classifier(demo_profile)
    noise = rec(c, "update.googleapis.com", "POST", "/api/orders")
    assert noise.role == "browser"
    v = judge([*compliant(c), noise], demo_profile)
    assert v.categories["payment"].status == "pass"
    assert v.categories["payment"].observed["payment_flows"] == 3


def test_invoice_link_to_social_fails(demo_profile):
    c = Classifier(demo_profile)
    link = rec(c, "shop.social.test", "LINK", "/invoices/1", kind="link", link="invoice")
    v = judge([*compliant(c), link], demo_profile)
    assert v.verdict == "fail"
    assert [f.rule_id for f in v.findings] == ["payment.invoice-link-role"]
