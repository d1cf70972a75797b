"""Popup evidence (every URL a popup loaded, its step) and coverage's own per-role figures."""

from __future__ import annotations

from builders import flow_record

from paywitness.analysers.popups import describe_popups
from paywitness.classify import Classifier
from paywitness.coverage import coverage_checks
from paywitness.verdict import AnalysisContext


def _client(i, probe, url="", step="checkout", **extra):
    return flow_record(
        kind="client", id=f"c{i}", ts=float(i), step=step, url=url, test="t::x", probe=probe,
        run="target", **extra,
    )  # fmt: skip


def test_popup_is_reported_with_every_url_it_loaded_and_its_step():
    records = [
        _client(1, "address", "https://shop.social.test/", step="browse", page=0),
        _client(2, "popup", "about:blank", opener="https://shop.social.test/", page=1),
        _client(3, "address", "https://checkout.commerce.test/checkout?sku=A", page=1),
        _client(4, "address", "https://pay.gateway.test/3ds/x", step="pay", page=1),
        _client(5, "address", "https://shop.social.test/orders", step="orders", page=0),
    ]
    (text,) = describe_popups(records).values()
    assert text == (
        "popup in step 'checkout' from https://shop.social.test/, loaded about:blank -> "
        "https://checkout.commerce.test/checkout?sku=A -> https://pay.gateway.test/3ds/x"
    )


def test_each_coverage_check_prints_its_own_per_role_figures(demo_profile):
    def rec(i, kind, host, path, method="GET"):
        classifier = Classifier(demo_profile)
        extra = {"probe": "request", "outcome": "finished"} if kind == "client" else {}
        return flow_record(
            host, path, method, kind=kind, id=f"r{i}", ts=float(i), classifier=classifier,
            test="t::x", **extra,
        )  # fmt: skip

    records = [
        rec(1, "client", "shop.social.test", "/"),
        rec(2, "http", "shop.social.test", "/"),
        rec(3, "client", "api.commerce.test", "/api/orders/A/pay", "POST"),
        rec(4, "http", "api.commerce.test", "/api/orders/A/pay", "POST"),
        rec(5, "client", "pay.gateway.test", "/v1/charges", "POST"),  # never reached the proxy
    ]
    ctx = AnalysisContext(records, demo_profile, Classifier(demo_profile))
    checks, findings = coverage_checks(ctx)
    by_id = {c.id: c for c in checks}
    assert by_id["coverage.payment-class"].figures["per_role"] == {
        "commerce": "1/1",
        "gateway": "0/1",
    }
    assert "per role: commerce 1/1, gateway 0/1" in by_id["coverage.payment-class"].summary
    assert by_id["coverage.overall"].figures["per_role"] == {
        "commerce": "1/1",
        "gateway": "0/1",
        "social": "1/1",
    }
    assert [f.rule_id for f in findings] == ["coverage.bypassed-proxy"]
