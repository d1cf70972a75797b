from __future__ import annotations

import pytest

from paywitness.classify import MARKER_HOST, Classifier
from paywitness.patterns import host_matches, path_matches


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*.social.test", "shop.social.test", True),
        ("*.social.test", "a.b.social.test", True),
        ("*.social.test", "social.test", False),
        ("*.social.test", "evilsocial.test", False),
        ("api.commerce.test", "API.commerce.test.", True),
        ("*", "anything.example", True),
    ],
)
def test_host_patterns(pattern, host, expected):
    assert host_matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/api/orders/*/pay", "/api/orders/42/pay", True),
        ("/api/orders/*/pay", "/api/orders/42/x/pay", False),
        ("/api/orders", "/api/orders?x=1", True),
        ("/invoices/**", "/invoices/2024/42.pdf", True),
        ("/api/orders", "/api/orders/42", False),
    ],
)
def test_path_patterns(pattern, path, expected):
    assert path_matches(pattern, path) is expected


def test_classify_demo(demo_profile):
    c = Classifier(demo_profile)
    pay = c.classify("api.social.test", "POST", "/api/orders/7/pay")
    assert (pay.role, pay.payment_class) == ("social", "pay")
    assert pay.rule == "roles[0].hosts[0]=*.social.test"
    assert c.classify("api.commerce.test", "GET", "/api/orders/7/pay").payment_class is None
    assert c.classify("pay.gateway.test", "POST", "/v1/charges").role == "gateway"
    assert c.classify("update.googleapis.com", "GET", "/x").role == "browser"
    assert c.classify("elsewhere.example", "POST", "/api/orders").role == "unknown"
    assert c.classify(MARKER_HOST, "GET", "/step/pay").role == "paywitness"
