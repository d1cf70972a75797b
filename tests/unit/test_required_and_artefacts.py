"""Required payment calls, payment artefacts, noise by sender and fallback by cause (issue 15)."""

from __future__ import annotations

import pytest
from builders import flow_record

from paywitness.analysers import judge
from paywitness.classify import Classifier
from paywitness.errors import ProfileError
from paywitness.profile import load_profile


def rec(c, host, method, path, step="pay", kind="http", test="t::one", status=200, **extra):
    return flow_record(
        host, path, method, kind=kind, classifier=c, duration=0.1, step=step, status=status,
        test=test, **extra,
    )  # fmt: skip


def mark(step, test="t::one"):
    return flow_record(kind="mark", step=step, test=test)


def minted(name, h):
    return {"artefacts_minted": [{"name": name, "path": "$.x", "source": "default", "hash": h}]}


def hit(name, h, location="request.body:$.charge_id"):
    return {
        "name": name,
        "hash": h,
        "location": location,
        "chain": "marker",
        "minted_by": "gateway",
    }


def purchase(c, *, pay_via_relay=False):
    """A card purchase: order, charge, pay (or the relay), confirmation, the Orders tab."""
    out = [
        mark("browse"),
        rec(c, "shop.social.test", "GET", "/", step="browse"),
        mark("checkout"),
        mark("pay"),
        rec(c, "api.commerce.test", "POST", "/api/orders", **minted("order-id", "h-order")),
        rec(c, "pay.gateway.test", "POST", "/v1/charges", **minted("charge-id", "h-charge")),
    ]
    if pay_via_relay:
        out.append(
            rec(
                c,
                "api.social.test",
                "POST",
                "/v1/activity",
                artefact_hits=[hit("charge-id", "h-charge"), hit("order-id", "h-order")],
            )
        )
    else:
        out.append(
            rec(
                c,
                "api.commerce.test",
                "POST",
                "/api/orders/ORD-1/pay",
                artefact_hits=[hit("charge-id", "h-charge")],
            )
        )
    out += [
        mark("confirm"),
        mark("orders"),
        rec(
            c,
            "api.social.test",
            "POST",
            "/api/me/orders",
            step="orders",
            artefact_hits=[hit("order-id", "h-order")],
        ),
    ]
    return out


def test_compliant_purchase_makes_every_required_call_and_keeps_artefacts(demo_profile):
    c = Classifier(demo_profile)
    v = judge(purchase(c), demo_profile)
    pay = v.categories["payment"]
    checks = {ch.id: ch for ch in pay.checks}
    assert checks["payment.required-calls"].status == "pass", checks["payment.required-calls"]
    # Social's Orders tab holds the order reference: allowed by the demo profile's policy.
    assert checks["payment.artefacts"].status == "pass", checks["payment.artefacts"]
    assert pay.status == "pass", [f.message for f in v.findings]


def test_relay_under_innocent_path_fails_through_required_calls_and_artefacts(demo_profile):
    c = Classifier(demo_profile)
    v = judge(purchase(c, pay_via_relay=True), demo_profile)
    assert v.verdict == "fail"
    rules = {f.rule_id: f for f in v.findings}
    missing = rules["payment.required-call-missing"]
    assert "pay (POST /api/orders/*/pay)" in missing.message
    assert "POST https://api.social.test/v1/activity (social, step 'pay')" in missing.message
    leak = rules["payment.artefact-reached-role"]
    assert "charge-id" in leak.message
    assert "'social'" in leak.message
    assert "order-id" not in leak.message  # allowed for social by policy
    # No payment-class path was involved: the old routing rule alone could not see it.
    assert "payment.role-not-allowed" not in rules


def test_purchase_that_did_not_complete_is_not_held_to_required_calls(demo_profile):
    c = Classifier(demo_profile)
    records = [r for r in purchase(c, pay_via_relay=True) if r.step not in ("confirm", "orders")]
    records = [r for r in records if not r.extra.get("artefact_hits")]
    v = judge(records, demo_profile)
    check = next(ch for ch in v.categories["payment"].checks if ch.id == "payment.required-calls")
    assert check.status == "not_observed"
    assert not check.required
    assert "no purchase reached step 'confirm'" in check.summary


def test_required_call_served_by_the_wrong_role_is_missing(demo_profile):
    c = Classifier(demo_profile)
    records = purchase(c)
    records[6] = rec(c, "api.social.test", "POST", "/api/orders/ORD-1/pay")
    v = judge(records, demo_profile)
    rules = {f.rule_id for f in v.findings}
    assert {"payment.required-call-missing", "payment.role-not-allowed"} <= rules


def test_artefact_to_a_role_never_listed_is_a_payment_finding(demo_profile):
    c = Classifier(demo_profile)
    records = purchase(c)
    records.append(
        rec(c, "cdn.tracker.example", "GET", "/p.gif", artefact_hits=[hit("payment-id", "h-x")])
    )
    v = judge(records, demo_profile)
    (leak,) = [f for f in v.findings if f.rule_id == "payment.artefact-reached-role"]
    assert "'unknown'" in leak.message
    assert leak.category == "payment"


def test_profile_rejects_required_calls_and_artefacts_it_cannot_resolve(write_profile):
    base = load_profile_text()
    bad = base.replace("  required:\n    - pay\n", "  required:\n    - payy\n")
    with pytest.raises(ProfileError, match=r"required\[0\] names 'payy'"):
        load_profile(write_profile(bad))
    bad = base.replace('path: "$.id", endpoint: charge', 'path: "$..id", endpoint: charge')
    with pytest.raises(ProfileError, match=r"is not a JSON field"):
        load_profile(write_profile(bad))
    bad = base.replace('path: "$.id", endpoint: charge', 'path: "$.id", endpoint: chrage')
    with pytest.raises(ProfileError, match=r"artefacts.fields\[0\].endpoint 'chrage'"):
        load_profile(write_profile(bad))


def load_profile_text() -> str:
    from paywitness.profile import demo_profile_path

    return demo_profile_path().read_text(encoding="utf-8")


# --- noise is only what the browser sends by itself ------------------------------------------


def _canary_hit():
    return [
        {
            "kind": "email",
            "chain": "sha256(lower(email))",
            "decoding": "",
            "location": "url:query:uid",
            "partial": False,
            "canary_hash": "c1",
            "excerpt": "uid=[canary]",
            "encoding": "",
            "count": 1,
        }
    ]


def _planted():
    return flow_record(
        kind="plant", step="checkout", method="PLANT", test="t::one",
        planted=[{"kind": "email", "hash": "c1"}],
    )  # fmt: skip


def test_page_request_to_a_noise_host_carrying_a_canary_fails_data(demo_profile):
    c = Classifier(demo_profile)
    pixel = rec(c, "www.google.com", "GET", "/px?uid=x", step="checkout")
    pixel.canary_hits = _canary_hit()
    assert pixel.role == "browser"  # by host alone it is noise
    asked = rec(c, "www.google.com", "GET", "/px?uid=x", step="checkout", kind="client")
    asked.extra = {"probe": "request", "outcome": "finished"}
    assert asked.role == "browser"  # (the live ClientWatch classifies with page=True)
    v = judge([_planted(), *purchase(c), pixel, asked], demo_profile)
    data = v.categories["data"]
    assert data.status == "fail", [f.message for f in v.findings]
    (leak,) = data.findings
    assert "www.google.com" in leak.message
    assert "listed as noise, noise.hosts[0]=*.google.com, but a page sent it" in leak.message


def test_chromium_background_request_stays_noise(demo_profile):
    c = Classifier(demo_profile)
    update = rec(c, "update.googleapis.com", "POST", "/service/update2/json", step="checkout")
    update.canary_hits = _canary_hit()  # whatever it carried, no page sent it
    page = rec(c, "shop.social.test", "GET", "/", step="checkout", kind="client")
    page.extra = {"probe": "request", "outcome": "finished"}
    v = judge([_planted(), *purchase(c), update, page], demo_profile)
    # (inconclusive: the email was planted but never seen reaching commerce in this sketch)
    assert v.categories["data"].status != "fail", [f.message for f in v.findings]
    assert not v.categories["data"].findings
    assert update.role == "browser"


def test_client_watch_never_classifies_a_page_request_as_noise(demo_profile):
    c = Classifier(demo_profile)
    assert c.classify("ajax.googleapis.com", "GET", "/jquery.js").role == "browser"
    page = c.classify("ajax.googleapis.com", "GET", "/jquery.js", page=True)
    assert page.role == "unknown"
    assert "noise.hosts" in page.rule


# --- fallback linked by cause -------------------------------------------------------------------


def test_unrelated_social_call_after_a_failed_pay_is_not_a_fallback(demo_profile):
    c = Classifier(demo_profile)
    failed = rec(c, "api.commerce.test", "POST", "/api/orders/ORD-1/pay", status=503)
    unrelated = rec(c, "shop.social.test", "GET", "/invoices/ORD-9", step="confirm")
    v = judge([failed, unrelated], demo_profile)
    rules = [f.rule_id for f in v.findings]
    assert "payment.fallback-to-social" not in rules
    assert "payment.role-not-allowed" in rules  # the invoice on social is still routing


def test_order_reference_social_may_hold_after_a_failed_pay_is_not_a_fallback(demo_profile):
    c = Classifier(demo_profile)
    failed = rec(
        c,
        "api.commerce.test",
        "POST",
        "/api/orders/ORD-1/pay",
        status=503,
        artefact_hits=[hit("order-id", "h-order", "url")],
    )
    orders_tab = rec(
        c, "api.social.test", "POST", "/api/me/orders", artefact_hits=[hit("order-id", "h-order")]
    )
    v = judge([failed, orders_tab], demo_profile)
    assert not [f for f in v.findings if "fallback" in f.rule_id]


def test_real_fallback_is_still_caught(demo_profile):
    c = Classifier(demo_profile)
    failed = rec(c, "api.commerce.test", "POST", "/api/orders/ORD-1/pay", status=503)
    retry = rec(c, "api.social.test", "POST", "/api/orders/ORD-1/pay")
    v = judge([failed, retry], demo_profile)
    (fb,) = [f for f in v.findings if f.rule_id == "payment.fallback-to-social"]
    assert "repeats the failed request's path" in fb.message


def test_fallback_under_another_path_is_linked_by_its_artefact(demo_profile):
    c = Classifier(demo_profile)
    failed = rec(
        c,
        "api.commerce.test",
        "POST",
        "/api/orders/ORD-1/pay",
        status=503,
        artefact_hits=[hit("charge-id", "h-charge")],
    )
    relay = rec(
        c, "api.social.test", "POST", "/v1/activity", artefact_hits=[hit("charge-id", "h-charge")]
    )
    v = judge([failed, relay], demo_profile)
    (fb,) = [f for f in v.findings if f.rule_id == "payment.fallback-to-social"]
    assert "same payment artefact (charge-id)" in fb.message


def test_inventory_keeps_a_page_script_from_a_noise_host(demo_profile):
    from paywitness.inventory import build_inventory

    c = Classifier(demo_profile)
    jquery = rec(c, "ajax.googleapis.com", "GET", "/ajax/libs/jquery.min.js", step="browse")
    asked = rec(c, "ajax.googleapis.com", "GET", "/ajax/libs/jquery.min.js", kind="client")
    asked.extra = {"probe": "request", "outcome": "finished"}
    update = rec(c, "update.googleapis.com", "POST", "/service/update2/json")
    inv = build_inventory([jquery, asked, update])
    assert inv == {
        "unknown": {
            "hosts": ["ajax.googleapis.com"],
            "payment_endpoints": [],
            "scripts": ["https://ajax.googleapis.com/ajax/libs/jquery.min.js"],
        }
    }
