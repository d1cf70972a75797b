"""observation.control: what the proxy recorded against what the browser sent without it."""

from __future__ import annotations

import pytest
from builders import flow_record

from paywitness.analysers import judge
from paywitness.analysers.control import (
    COMPARED,
    CONTROL_OUTCOME,
    CONTROL_REQUEST,
    CONTROL_RUN,
    CONTROL_SUFFIX,
)
from paywitness.classify import Classifier
from paywitness.evidence.scorecard import build_scorecard, scorecard_table
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile, demo_profile_path, load_profile
from paywitness.report_text import verdict_table

T = "scenarios/test_payment_routing.py::test_purchase_is_paid_in_commerce[card]"
C = T + CONTROL_SUFFIX
_CLASSIFIER = Classifier(load_profile(demo_profile_path()))


def seen(host: str, path: str, step: str, test: str, method: str = "POST") -> FlowRecord:
    """A request of the observed run as the proxy recorded it (test T), or one the control
    browser sent (test T#control; its role is the analyser's to classify)."""
    if test == T:
        return flow_record(host, path, method, step=step, test=T, classifier=_CLASSIFIER)
    return flow_record(host, path, method, kind="client", step=step, test=test,
                       probe=CONTROL_REQUEST)  # fmt: skip


def purchase(test: str, pay_host: str = "api.commerce.test") -> list[FlowRecord]:
    return [
        seen("shop.social.test", "/", "browse", test, "GET"),
        seen("checkout.commerce.test", "/checkout?sku=A1", "checkout", test, "GET"),
        seen("api.commerce.test", "/api/orders", "checkout", test),
        seen("pay.gateway.test", "/v1/charges", "pay", test),
        seen(pay_host, "/api/orders/ORD-%s/pay" % (7 if test == T else 9), "pay", test),
    ]


PROXIED = purchase(T)


def control(*records: FlowRecord, outcome: str = "completed", **facts: object) -> list[FlowRecord]:
    return [
        flow_record(kind="client", probe=CONTROL_RUN, available=True, reason=""),
        *records,
        flow_record(
            kind="client", test=T + CONTROL_SUFFIX, probe=CONTROL_OUTCOME, of=T,
            outcome=outcome, seconds=1.5, **facts,
        ),
    ]  # fmt: skip


def test_not_asked_the_category_is_absent(demo_profile: Profile) -> None:
    v = judge(PROXIED, demo_profile)
    assert "observation" not in v.categories
    card = build_scorecard(v.to_dict())
    assert "observation" not in card["categories"]
    assert "Observation" not in scorecard_table(card)


def test_the_same_purchase_without_the_proxy_passes(demo_profile: Profile) -> None:
    base = judge(PROXIED, demo_profile)
    v = judge(PROXIED, demo_profile, control=control(*purchase(C)))
    (check,) = v.categories["observation"].checks
    assert check.id == "observation.control"
    assert check.status == "pass", check.summary
    assert check.figures["compared"] == list(COMPARED)
    assert "seamless figures" in check.figures["not_compared"]
    assert check.figures["control_seconds"] == 1.5
    assert v.categories["observation"].status == "pass"
    assert (v.verdict, v.reasons) == (base.verdict, base.reasons)  # the control adds no reason
    assert "Observation" in scorecard_table(build_scorecard(v.to_dict()))


def test_payment_routed_elsewhere_without_the_proxy_is_inconclusive(
    demo_profile: Profile,
) -> None:
    ctl = control(*purchase(C, pay_host="api.social.test"))
    v = judge(PROXIED, demo_profile, control=ctl)
    assert v.verdict == "inconclusive"  # never pass: a required check could not be judged
    assert any(r.startswith("observation: the shop behaved differently") for r in v.reasons)
    cat = v.categories["observation"]
    assert cat.status == "inconclusive"
    (check,) = cat.checks
    assert check.status == "not_judged"
    assert check.required
    listed = {(d["side"], d["method"], d["host"], d["role"], d["step"], d["what"])
              for d in check.figures["differing_requests"]}  # fmt: skip
    assert ("without the proxy only", "POST", "api.social.test", "social", "pay",
            "payment-class call") in listed  # fmt: skip
    assert ("with the proxy only", "POST", "api.commerce.test", "commerce", "pay",
            "payment-class call") in listed  # fmt: skip
    (finding,) = cat.findings
    assert finding.rule_id == "observation.control"
    assert "api.social.test/api/orders/ORD-9/pay" in finding.message
    text = verdict_table(v)
    assert "observation.control" in text
    assert "verdict: inconclusive" in text


def test_a_control_that_did_not_complete_is_a_difference(demo_profile: Profile) -> None:
    ctl = control(
        *purchase(C)[:2],
        outcome="failed",
        extra={"error": "TimeoutError: Pay button"},
    )
    v = judge(PROXIED, demo_profile, control=ctl)
    assert v.verdict == "inconclusive"
    assert (
        "did not complete: TimeoutError: Pay button"
        in v.categories["observation"].checks[0].summary
    )


@pytest.mark.parametrize("why", ["no CDP there", "not replayed"])
def test_no_control_run_is_stated_and_does_not_block(demo_profile: Profile, why: str) -> None:
    if why == "no CDP there":
        ctl = [flow_record(kind="client", probe=CONTROL_RUN, available=False, reason=why)]
    else:
        ctl = [flow_record(kind="client", probe=CONTROL_OUTCOME, of=T, outcome="not_replayed",
                           reason=why, test=T + CONTROL_SUFFIX)]  # fmt: skip
    v = judge(PROXIED, demo_profile, control=ctl)
    (check,) = v.categories["observation"].checks
    assert check.status == "not_judged"
    assert not check.required
    assert why in check.summary
    base = judge(PROXIED, demo_profile)
    assert (v.verdict, v.reasons) == (base.verdict, base.reasons)  # judged without, as stated


def test_a_request_at_a_step_boundary_may_fall_in_the_next_step(demo_profile: Profile) -> None:
    """The storefront's order refresh starts as the buyer moves from pay to confirm: either step
    on either side is the same purchase; two steps away is not."""
    c = T + CONTROL_SUFFIX
    main = [*PROXIED, seen("api.social.test", "/api/me/orders", "pay", T, "GET"),
            seen("invoice.commerce.test", "/invoices/ORD-7", "confirm", T, "GET")]  # fmt: skip
    ctl = [*purchase(c), seen("invoice.commerce.test", "/invoices/ORD-9", "confirm", c, "GET")]
    late = seen("api.social.test", "/api/me/orders", "confirm", c, "GET")
    v = judge(main, demo_profile, control=control(*ctl, late))
    assert v.categories["observation"].checks[0].status == "pass"
    much_later = seen("api.social.test", "/api/me/orders", "orders", c, "GET")
    ctl += [seen("api.commerce.test", "/api/orders/status", "orders", c, "GET")]
    v = judge(main, demo_profile, control=control(*ctl, much_later))
    check = v.categories["observation"].checks[0]
    assert check.status == "not_judged"
    hosts = {(d["side"], d["host"], d["step"]) for d in check.figures["differing_requests"]}
    assert hosts == {
        ("with the proxy only", "api.social.test", "pay"),
        ("without the proxy only", "api.social.test", "orders"),
        ("without the proxy only", "api.commerce.test", "orders"),
    }


def test_a_witnessed_run_says_why_it_has_no_control(demo_profile: Profile) -> None:
    """A profile asking for the control, a purchase by hand: stated, waived, never blocking."""
    from paywitness.scope import MODE_SCOPES, apply_scope

    why = MODE_SCOPES["witness-phone"].unobservable["observation"]
    ctl = [flow_record(kind="client", probe=CONTROL_RUN, available=False, reason=why)]
    base = judge(PROXIED, demo_profile)
    apply_scope(base, "witness-phone")
    v = judge(PROXIED, demo_profile, control=ctl)
    apply_scope(v, "witness-phone")
    assert v.verdict == base.verdict
    assert f"waived: observation: {why}" in v.reasons
    assert "observation" not in v.meta["scope"]["not_judged"]


class _Browser:
    """A remote browser as Playwright's client sees it: CDP sessions refused, or given."""

    def __init__(self, cdp: bool) -> None:
        self.cdp = cdp
        self.detached = False

    def new_browser_cdp_session(self) -> _Browser:
        if not self.cdp:
            from playwright.sync_api import Error

            raise Error("CDP session is only available in Chromium")
        return self

    def detach(self) -> None:
        self.detached = True


def test_a_remote_browser_without_cdp_is_named_so() -> None:
    from paywitness.pytest_plugin.control import remote_reason

    why = remote_reason(_Browser(cdp=False), "ws://10.0.0.5:3000/pw")  # type: ignore[arg-type]
    assert why.startswith("the remote browser at ws://10.0.0.5:3000/pw exposes no CDP")
    assert "went on without it" in why
    with_cdp = _Browser(cdp=True)
    why = remote_reason(with_cdp, "ws://10.0.0.5:3000/pw")  # type: ignore[arg-type]
    assert "launched elsewhere" in why
    assert with_cdp.detached


def test_preflights_and_the_browsers_own_traffic_are_not_differences(
    demo_profile: Profile,
) -> None:
    """The proxy sees CORS preflights and Chromium's background requests; the control browser's
    network events report neither, so neither side counts them."""
    noise = flow_record("update.googleapis.com", "/service/update2", "POST", step="pay", test=T,
                        classifier=_CLASSIFIER)  # fmt: skip
    assert noise.role == "browser"
    preflight = flow_record(
        "events.social.test", "/e", "OPTIONS", step="pay", test=T, role="social"
    )
    v = judge([*PROXIED, noise, preflight], demo_profile, control=control(*purchase(C)))
    assert v.categories["observation"].checks[0].status == "pass"


def test_a_run_that_asked_for_a_control_and_replayed_nothing_says_so(
    demo_profile: Profile, tmp_path
) -> None:
    from paywitness.control import note_nothing_replayed
    from paywitness.run import RunContext, control_records

    run = RunContext(output=tmp_path, profile=demo_profile, profile_path=demo_profile_path(),
                     seed=1, control=False)  # fmt: skip
    assert not note_nothing_replayed(run)
    assert control_records(tmp_path) == []
    run.control = True
    assert note_nothing_replayed(run)
    assert not note_nothing_replayed(run)  # once
    v = judge(PROXIED, demo_profile, control=control_records(tmp_path))
    (check,) = v.categories["observation"].checks
    assert "no scenario drove a page with a witness" in check.summary
