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
    if not test.endswith(CONTROL_SUFFIX):
        return flow_record(host, path, method, step=step, test=test, classifier=_CLASSIFIER)
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
    assert "checkout_document_ms" in check.figures["not_compared"]
    assert check.figures["timings"] == {}
    assert "no timing was recorded on either side" in check.summary
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


# -- the seamless timings, with and without the proxy ---------------------------------------------

METHODS = ("card", "virtual-account", "ewallet", "card-declined")


def scenario(method: str) -> str:
    return T.replace("[card]", f"[{method}]")


def timed(test: str, buy_ms: float, pay_ms: float) -> list[FlowRecord]:
    """One purchase's moments as the witness marks them: Buy to a ready checkout in `buy_ms`,
    Pay to the confirmation in `pay_ms`."""
    marks = [("buy", 0.0), ("checkout-ready", buy_ms), ("pay", buy_ms + 3000),
             ("confirmation", buy_ms + 3000 + pay_ms)]  # fmt: skip
    return [flow_record(kind="client", test=test, ts=5000 + at / 1000, probe="moment", name=name)
            for name, at in marks]  # fmt: skip


def timed_runs(
    observed: list[tuple[float, float]], unobserved: list[tuple[float, float]]
) -> tuple[list[FlowRecord], list[FlowRecord]]:
    """Scenarios (one per payment method) timed with the proxy and replayed without it: the same
    requests, the given (buy, pay) timings a side; the run's records and the control's."""
    records: list[FlowRecord] = []
    ctl = [flow_record(kind="client", probe=CONTROL_RUN, available=True, reason="")]
    for method, mine, theirs in zip(METHODS, observed, unobserved, strict=False):
        test = scenario(method)
        records += [*purchase(test), *timed(test, *mine)]
        ctl += [*purchase(test + CONTROL_SUFFIX), *timed(test + CONTROL_SUFFIX, *theirs)]
        ctl.append(flow_record(kind="client", test=test + CONTROL_SUFFIX, probe=CONTROL_OUTCOME,
                               of=test, outcome="completed", seconds=1.0))  # fmt: skip
    return records, ctl


def test_timings_within_the_noise_pass_and_say_so(demo_profile: Profile) -> None:
    # Buy: scheduling noise both ways. Pay: significantly 1.8x slower with the proxy, but by
    # 34 ms, which no buyer notices (the rule's `timing_noticeable_ms`).
    records, ctl = timed_runs(
        [(480, 60), (510, 75), (455, 66), (530, 70)],
        [(470, 30), (500, 35), (520, 40), (490, 38)],
    )
    v = judge(records, demo_profile, control=ctl)
    (check,) = v.categories["observation"].checks
    assert check.status == "pass", check.summary
    assert "timings within the noise" in check.summary
    assert "1.2x and 100 ms, alpha 0.05" in check.summary
    text = "buy_to_checkout_ready_ms: with the proxy median 495 ms (455..530, n=4), "
    assert text in check.summary
    assert "without it median 495 ms (470..520, n=4)" in check.summary
    timings = check.figures["timings"]
    assert set(timings) == {"buy_to_checkout_ready_ms", "pay_to_confirmation_ms"}
    assert {t["status"] for t in timings.values()} == {"within_noise"}
    assert timings["pay_to_confirmation_ms"]["pairs"] == 4
    assert timings["pay_to_confirmation_ms"]["slower_with_proxy"]["p_value"] <= 0.05  # yet noise
    assert not v.categories["observation"].findings


@pytest.mark.parametrize("slow_side", ["with", "without"])
def test_a_timing_noticeably_slower_on_one_side_is_inconclusive(
    demo_profile: Profile, slow_side: str
) -> None:
    fast = [(450, 900), (500, 950), (470, 880), (520, 1000)]
    slow = [(b * 2, p) for b, p in fast]  # the checkout takes twice as long: +450..520 ms
    observed, unobserved = (slow, fast) if slow_side == "with" else (fast, slow)
    records, ctl = timed_runs(observed, unobserved)
    v = judge(records, demo_profile, control=ctl)
    assert v.verdict == "inconclusive"
    cat = v.categories["observation"]
    (check,) = cat.checks
    assert check.status == "not_judged"
    assert check.required
    assert check.summary.startswith("the shop behaved differently without the proxy (1 timing(s)")
    assert f"noticeably slower {slow_side} the proxy" in check.summary
    slow_text = "median 970 ms (900..1040, n=4)"
    fast_text = "median 485 ms (450..520, n=4)"
    mine, theirs = (slow_text, fast_text) if slow_side == "with" else (fast_text, slow_text)
    assert f"buy_to_checkout_ready_ms: with the proxy {mine}, without it {theirs}" in check.summary
    assert f"difference {'+485' if slow_side == 'with' else '-485'} ms" in check.summary
    assert f"p=0.014 slower {'with the proxy' if slow_side == 'with' else 'without it'}" in (
        check.summary
    )
    assert "timings within the noise" in check.summary
    assert "pay_to_confirmation_ms: with the proxy" in check.summary
    entry = check.figures["timings"]["buy_to_checkout_ready_ms"]
    assert entry["status"] == "differs"
    key = "slower_with_proxy" if slow_side == "with" else "slower_without_proxy"
    assert entry[key]["worse"]
    assert entry[key]["p_value"] < 0.05
    assert check.figures["timings"]["pay_to_confirmation_ms"]["status"] == "within_noise"
    (finding,) = cat.findings
    assert finding.rule_id == "observation.control"
    assert "buy_to_checkout_ready_ms" in finding.message
    assert "pay_to_confirmation_ms" not in finding.message
    assert [e["figure"] for e in finding.evidence] == ["buy_to_checkout_ready_ms"]
    assert any(r.startswith("observation: the shop behaved differently") for r in v.reasons)


def test_too_few_pairs_are_not_compared_and_do_not_block(demo_profile: Profile) -> None:
    # Two scenarios, twice as slow with the proxy: the rank test cannot reach 0.05 from 2 pairs.
    records, ctl = timed_runs([(1000, 900), (1100, 950)], [(500, 900), (550, 950)])
    v = judge(records, demo_profile, control=ctl)
    (check,) = v.categories["observation"].checks
    assert check.status == "pass", check.summary
    assert "timings not compared: buy_to_checkout_ready_ms (2 pair(s); the rank test needs 3 " \
        "to reach alpha 0.05)" in check.summary  # fmt: skip
    assert "within the noise" not in check.summary
    assert {t["status"] for t in check.figures["timings"].values()} == {"not_compared"}
    assert check.figures["timings"]["buy_to_checkout_ready_ms"]["pairs"] == 2
    # With a third pair as slow, the same figures are judged, and differ.
    records, ctl = timed_runs([(1000, 900), (1100, 950), (1050, 920)],
                              [(500, 900), (550, 950), (520, 930)])  # fmt: skip
    check = judge(records, demo_profile, control=ctl).categories["observation"].checks[0]
    assert check.status == "not_judged"
    assert check.figures["timings"]["buy_to_checkout_ready_ms"]["status"] == "differs"


def test_a_control_that_marked_no_moments_says_so(demo_profile: Profile) -> None:
    """A control ledger without moments (recorded before the control marked them): the timings
    are stated as timed on one side only, never compared as equal."""
    records, ctl = timed_runs([(480, 40)] * 4, [(470, 30)] * 4)
    ctl = [r for r in ctl if r.extra.get("probe") != "moment"]
    check = judge(records, demo_profile, control=ctl).categories["observation"].checks[0]
    assert check.status == "pass"
    assert "buy_to_checkout_ready_ms: timed in 4 scenario(s) with the proxy, 0 without it" in (
        check.summary
    )
    assert check.figures["timings"] == {}
