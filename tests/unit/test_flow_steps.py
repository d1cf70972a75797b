"""Profile flow steps: validated at load with the step index in every error (exit 2, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness import moments
from paywitness.cli import main
from paywitness.errors import ProfileError
from paywitness.flow import expand_hints, standard_problems
from paywitness.flow_spec import BUYER_PLACEHOLDERS, FlowStep, render
from paywitness.profile import load_profile

HEAD = """
name: steps shop
start_url: https://shop.example/
roles:
  - {name: social, hosts: ["*.social.example"]}
  - {name: commerce, hosts: ["*.shop.example"]}
payment:
  allowed_roles: [commerce]
  endpoints: [{name: charge, path: /pay}]
  invoice_endpoint: null
"""

GOOD_STEPS = """
flow:
  steps:
    - {goto: /, step: browse}
    - {wait_for: "#product", moment: browse}
    - {click: "#buy", step: checkout, moment: buy}
    - {fill: "#given", value: "{buyer.given_name}"}
    - {fill: "#family", value: "{buyer.family_name}"}
    - {fill: "#line1", value: "{buyer.address_line1}"}
    - {select: "#region", value: "{buyer.region}"}
    - {fill: "#postcode", value: "{buyer.postcode}", moment: checkout-ready}
    - {frame: ["#card-frame"]}
    - {fill: "#number", value: "{card.number}"}
    - {frame: []}
    - {click: "#pay", step: pay, moment: pay}
    - {expect: "#done", text: "Thank you", moment: confirmation}
    - {pause: 1, reason: the shop's own animation hides the tab bar for a second}
    - {click: "#tab-orders", step: orders, moment: orders-open}
    - {wait_for: {response: "**/orders*"}, moment: orders-ready}
"""


def _load(write_profile, text: str):  # type: ignore[no-untyped-def]
    return load_profile(write_profile(HEAD + text))


def test_a_purchase_as_steps_loads(write_profile) -> None:  # type: ignore[no-untyped-def]
    p = _load(write_profile, GOOD_STEPS)
    assert p.flow is not None
    assert p.flow.steps is not None
    assert [s.verb for s in p.flow.steps][:4] == ["goto", "wait_for", "click", "fill"]
    assert standard_problems(p) == []  # no shorthand keys needed when steps drive it


@pytest.mark.parametrize(
    ("step", "where", "words"),
    [
        ('{clik: "#buy"}', "flow.steps[2]", "unknown action or option 'clik'"),
        ('{fill: "#x", value: "{buyer.shoe_size}"}', "flow.steps[2]", "names no canary"),
        ('{fill: "#x", value: "{token.secret}"}', "flow.steps[2]", "{token.secret}"),
        ('{fill: "#x"}', "flow.steps[2]", "fill needs a value"),
        ("{pause: 2}", "flow.steps[2]", "pause needs a reason"),
        ("{pause: 90, reason: slow}", "flow.steps[2]", "less than or equal to 30"),
        ('{click: "#a", moment: payed}', "flow.steps[2]", "'payed' is not a moment"),
        ('{click: "#a", tap: "#b"}', "flow.steps[2]", "exactly one action"),
        ('{click: "#a", moment: buy}', "flow", "flow.steps[2]: moment 'buy' is named twice"),
    ],
)
def test_a_bad_step_names_its_index(write_profile, step: str, where: str, words: str) -> None:  # type: ignore[no-untyped-def]
    text = f"""
flow:
  steps:
    - {{goto: /}}
    - {{click: "#buy", moment: buy}}
    - {step}
"""
    with pytest.raises(ProfileError) as e:
        _load(write_profile, text)
    message = str(e.value)
    assert f"  {where}" in message, message
    assert words in message, message


def test_moment_named_twice_names_both_steps(write_profile) -> None:  # type: ignore[no-untyped-def]
    text = """
flow:
  steps:
    - {click: "#buy", moment: pay}
    - {popup: "#win", then: [{click: "#ok", moment: pay}]}
"""
    with pytest.raises(
        ProfileError,
        match=r"steps\[1\]\.then\[0\]: moment 'pay' is named twice "
        r"\(already by flow.steps\[0\]\)",
    ):
        _load(write_profile, text)


def test_every_split_buyer_field_is_a_placeholder() -> None:
    for name in ("given_name", "family_name", "address_line1", "address_line2", "city",
                 "region", "postcode"):  # fmt: skip
        assert name in BUYER_PLACEHOLDERS
    assert render("{buyer.given_name} {buyer.family_name}", {
        "buyer.given_name": "Sari", "buyer.family_name": "Widodo"
    }) == "Sari Widodo"  # fmt: skip


def test_cli_rejects_a_bad_step_before_any_browser(write_profile, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_profile(HEAD + 'flow:\n  steps:\n    - {goto: /}\n    - {hover: "#menu"}\n')
    assert main(["run", "--profile", str(path)]) == 2
    err = capsys.readouterr().err
    assert "flow.steps[1]: unknown action or option 'hover'" in err
    assert "Traceback" not in err


def test_standard_scenarios_refuse_a_profile_without_a_purchase(write_profile, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_profile(HEAD + "flow:\n  product_ready: '#p'\n  buy: '#b'\n")
    # Reachability is checked first: point the start URL at a port that answers.
    assert (
        main(["run", "--profile", str(path), "--resolve", "shop.example=http://127.0.0.1:9"]) == 2
    )
    err = capsys.readouterr().err
    assert "flow.methods.card" in err or "cannot be reached" in err


def test_no_flow_keys_needed_when_the_user_scenario_drives(write_profile) -> None:  # type: ignore[no-untyped-def]
    p = _load(write_profile, "flow:\n  start_url: https://shop.example/app\n")
    assert p.flow is not None
    assert standard_problems(p)  # the standard scenarios cannot, but the profile is valid


def test_resilience_needs_pay_and_confirmation_moments(write_profile) -> None:  # type: ignore[no-untyped-def]
    text = """
flow:
  steps:
    - {goto: /}
    - {click: "#pay"}
resilience:
  - name: slow-charge
    faults: ["role=commerce endpoint=charge status=502 first=1"]
    expect: visible_error
    error: "#error"
  - name: unknown-endpoint
    faults: ["role=commerce endpoint=refund status=502 first=1"]
    expect: confirmation
"""
    problems = standard_problems(_load(write_profile, text))
    assert any("marks no 'pay' moment" in p and "moment: pay" in p for p in problems)
    assert any("marks no 'confirmation' moment" in p for p in problems)
    assert any("resilience[1] (unknown-endpoint): endpoint=refund" in p for p in problems)


def test_the_shorthand_expands_to_steps_with_the_standard_moments(demo_profile) -> None:  # type: ignore[no-untyped-def]
    steps = expand_hints(demo_profile.flow, "card")
    marked = [s.moment for s in steps if s.moment]
    assert marked == [
        moments.BROWSE, moments.BUY, moments.CHECKOUT_READY, moments.PAY, moments.CONFIRMATION,
        "shop-open", "shop-ready", "orders-open", "orders-ready",
    ]  # fmt: skip
    fills = [s.value for s in steps if s.fill]
    assert "{card.number}" in fills
    assert "{card.number}" not in [
        s.value for s in expand_hints(demo_profile.flow, "virtual-account") if s.fill
    ]
    otp = [s for s in expand_hints(demo_profile.flow, "card-3ds") if s.fill == "input[name=otp]"]
    assert otp[0].value == "{card.otp}"


def test_moment_vocabulary() -> None:
    assert moments.is_moment("orders-open")
    assert moments.tab_of("orders-ready") == "orders"
    assert moments.marked_before(moments.BUY)
    assert not moments.marked_before(moments.CHECKOUT_READY)
    assert moments.tab_span("shop").figure == "open_shop_tab_ms"
    assert "add `moment: buy`" in moments.not_judged_reason("seamless.timing", ["buy"])
    with pytest.raises(ValueError, match="not a moment"):
        moments.check_moment("checkout_ready")
    assert FlowStep(click="#a", moment="shop-open").moment == "shop-open"


def test_demo_profile_runs_the_standard_scenarios(demo_profile) -> None:  # type: ignore[no-untyped-def]
    assert standard_problems(demo_profile) == []
    assert demo_profile.resilience[0].name == "gateway-502-then-retry"


def test_schema_file_is_written_from_the_models() -> None:
    schema = Path(__file__).resolve().parents[2] / "docs" / "profile.schema.json"
    text = schema.read_text(encoding="utf-8")
    for key in ("wait_for", "popup", "resilience", "timezone", "double_click_pay"):
        assert key in text
