"""Computed displays: the screen compared with an expression over served fields (issue 15.6)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from builders import flow_record

from paywitness.analysers.merchant_ops import analyse_merchant_ops
from paywitness.classify import Classifier
from paywitness.errors import ProfileError
from paywitness.expressions import parse_amount, parse_expression
from paywitness.profile import demo_profile_path, load_profile
from paywitness.seamless.digest import response_digest
from paywitness.verdict import AnalysisContext


def test_expression_grammar_is_arithmetic_over_field_names():
    e = parse_expression("(price - discount) * qty + shipping")
    assert e.names == ("price", "discount", "qty", "shipping")
    values = {"price": Decimal(100), "discount": Decimal(10), "qty": Decimal(2)}
    assert e.evaluate({**values, "shipping": Decimal("0.5")}) == Decimal("180.5")
    for bad in ("price +", "__import__('os')", "price / 2", "price.total", "2 + 3"):
        with pytest.raises(ValueError, match="price \\+ shipping"):
            parse_expression(bad)


def test_amounts_are_read_in_the_display_locale():
    assert parse_amount("Total Rp1.234.500", "id-ID") == Decimal(1234500)
    assert parse_amount("Rp 1.234,50", "id-ID") == Decimal("1234.50")
    assert parse_amount("$1,234.50 total", "en-US") == Decimal("1234.50")
    assert parse_amount("1 234,50 €", "fr-FR") == Decimal("1234.50")
    assert parse_amount("no amount", "id-ID") is None


def _answer(host, objects, t):
    profile = load_profile(demo_profile_path())
    specs = [d for d in profile.displays if d.name in ("product-total", "product-price")]
    role = Classifier(profile).role_of(host)[0]
    digest = response_digest(json.dumps({"products": objects}).encode(), specs)
    return flow_record(
        host, "/api/products", "GET", ts=t, duration=0.1, step="browse", role=role,
        display_digest=digest,
    )  # fmt: skip


def _shown(values, t):
    return flow_record(
        kind="client", ts=t, step="browse", probe="display", name="product-total", values=values
    )


def _judge(records, profile=None):
    profile = profile or load_profile(demo_profile_path())
    ctx = AnalysisContext(records=records, profile=profile, classifier=Classifier(profile))
    result = analyse_merchant_ops(ctx)
    return {c.id: c for c in result.checks}, result


_SHOWN = [{"key": "BTK-01", "raw": "Total Rp201.000"}, {"key": "KOP-02", "raw": "Total Rp300.000"}]


def test_total_shown_is_commerce_price_plus_shipping():
    commerce = _answer(
        "api.commerce.test",
        [
            {"sku": "BTK-01", "price": 189000, "shipping": 12000},
            {"sku": "KOP-02", "price": 300000, "shipping": 0},
        ],
        1.0,
    )
    checks, result = _judge([commerce, _shown(_SHOWN, 2.0)])
    check = checks["merchant_ops.display.product-total"]
    assert check.status == "pass", check.summary
    assert "2/2" in check.summary
    assert not result.findings


def test_total_computed_from_socials_copy_fails():
    commerce = _answer(
        "api.commerce.test", [{"sku": "BTK-01", "price": 189000, "shipping": 14000}], 1.0
    )
    social = _answer(
        "api.social.test", [{"sku": "BTK-01", "price": 189000, "shipping": 12000}], 0.5
    )
    checks, result = _judge([social, commerce, _shown(_SHOWN[:1], 2.0)])
    assert checks["merchant_ops.display.product-total"].status == "fail"
    (finding,) = result.findings
    assert "from social (https://api.social.test/api/products)" in finding.message


def test_expression_field_no_answer_carries_names_the_profile_path(write_profile):
    text = demo_profile_path().read_text(encoding="utf-8")
    profile = load_profile(write_profile(text.replace("price + shipping", "price + shiping")))
    commerce = _answer(
        "api.commerce.test", [{"sku": "BTK-01", "price": 189000, "shipping": 12000}], 1.0
    )
    checks, _ = _judge([commerce, _shown(_SHOWN[:1], 2.0)], profile)
    check = checks["merchant_ops.display.product-total"]
    assert check.status == "not_observed"
    assert check.required
    index = [d.name for d in profile.displays].index("product-total")
    assert f"displays[{index}].expression 'price + shiping' reads 'shiping'" in check.summary


def test_profile_refuses_an_expression_that_is_not_arithmetic(write_profile):
    text = demo_profile_path().read_text(encoding="utf-8")
    with pytest.raises(ProfileError, match=r"displays\[\d+\]\.expression: .*not an expression"):
        load_profile(write_profile(text.replace("price + shipping", "price +")))
    with pytest.raises(ProfileError, match="exactly one of `field`"):
        load_profile(
            write_profile(
                text.replace(
                    "expression: price + shipping", "field: price\n    expression: price + shipping"
                )
            )
        )
