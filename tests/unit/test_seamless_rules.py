"""The seamless rules on recorded figures alone: statistics, counts, limits, waivers, cut short."""

from __future__ import annotations

import pytest
from builders import flow_record
from seamless_builders import TEST
from seamless_builders import purchases as _runs

from paywitness.analysers import judge
from paywitness.errors import ProfileError
from paywitness.profile import Profile, SeamlessPolicy
from paywitness.run import set_aside_cut_short
from paywitness.seamless.stats import compare_samples, mann_whitney_greater, min_p_value
from paywitness.verdict import Check, Verdict


def _check(verdict: Verdict, check_id: str) -> Check:
    for ch in verdict.categories["seamless"].checks:
        if ch.id == check_id:
            return ch
    raise AssertionError(f"no check {check_id}")


def test_exact_rank_test_and_its_smallest_p() -> None:
    assert min_p_value(3, 3) == pytest.approx(0.05)
    assert min_p_value(1, 1) == 0.5
    assert mann_whitney_greater([4, 5, 6], [1, 2, 3]) == pytest.approx(0.05)
    assert mann_whitney_greater([1, 2, 3], [4, 5, 6]) == pytest.approx(1.0)
    assert 0.05 < mann_whitney_greater([2, 5, 6], [1, 3, 4]) < 0.5


def test_twice_as_slow_fails_and_noise_does_not() -> None:
    slow = compare_samples([400, 420, 390], [200, 210, 190], ratio=1.2, alpha=0.05)
    assert slow.worse
    assert slow.tested
    # 10% slower, every sample above: significant as "slower", not as "1.2x slower".
    noise = compare_samples([220, 231, 209], [200, 210, 190], ratio=1.2, alpha=0.05)
    assert not noise.worse
    # One sample a side: the rank test can never reach alpha; the ratio alone decides, said so.
    single = compare_samples([400], [200], ratio=1.2, alpha=0.05)
    assert single.worse
    assert not single.tested
    assert "ratio alone" in single.rule_text()


def test_a_slowdown_nobody_can_notice_is_not_a_failure() -> None:
    # Measured in an A/A run of the demo (the shop against itself, load 5): the first answer
    # after Pay 4 ms (3..5) against 2 ms (1..2), the checkout document 75 ms (64..109) against
    # 26 ms (10..29): each "significant" at 3 a side and above 1.2x, neither visible.
    for target, base in (([4, 3, 5], [2, 1, 2]), ([75, 64, 109], [26, 10, 29])):
        plain = compare_samples(target, base, ratio=1.2, alpha=0.05)
        assert plain.worse
        floored = compare_samples(target, base, ratio=1.2, alpha=0.05, noticeable=100)
        assert not floored.worse
        assert "noticeable from 100 ms" in floored.rule_text()
    # A real slowdown clears the floor: 100 -> 250 ms, and 2 s later.
    assert compare_samples(
        [250, 260, 240], [100, 110, 90], ratio=1.2, alpha=0.05, noticeable=100
    ).worse
    assert compare_samples(
        [2200, 2150, 2300], [190, 180, 200], ratio=1.2, alpha=0.05, noticeable=100
    ).worse
    # 90 ms more on a 100 ms step is 1.9x but under the floor; 110 ms more is not.
    assert not compare_samples(
        [190, 195, 185], [100, 105, 95], ratio=1.2, alpha=0.05, noticeable=100
    ).worse
    assert compare_samples(
        [210, 215, 205], [100, 105, 95], ratio=1.2, alpha=0.05, noticeable=100
    ).worse


def test_slow_handoff_fails_with_both_distributions(demo_profile: Profile) -> None:
    records = _runs(TEST, [2200, 2150, 2300])
    baseline = _runs(TEST, [180, 200, 190], baseline=True)
    verdict = judge(records, demo_profile, baseline=baseline)
    timing = _check(verdict, "seamless.timing")
    assert timing.status == "fail"
    assert "target median 2200 ms (2150..2300, n=3)" in timing.summary
    assert "baseline median 190 ms (180..200, n=3)" in timing.summary
    assert "Mann-Whitney" in timing.summary
    assert verdict.categories["seamless"].status == "fail"


def test_same_shop_against_itself_passes(demo_profile: Profile) -> None:
    records = _runs(TEST, [190, 230, 170])
    baseline = _runs(TEST, [200, 180, 240], baseline=True)
    verdict = judge(records, demo_profile, baseline=baseline)
    seamless = verdict.categories["seamless"]
    assert _check(verdict, "seamless.timing").status == "pass"
    statuses = {c.id: c.status for c in seamless.checks}
    # No pictures in this unit test: screens alone stay unjudged, and keep the gate open.
    assert statuses.pop("seamless.screens") == "not_judged"
    assert set(statuses.values()) == {"pass"}, statuses
    assert seamless.status == "inconclusive"


def test_any_increase_of_a_count_fails(demo_profile: Profile) -> None:
    records = _runs(TEST, [200, 200, 200], navigations=2)
    baseline = _runs(TEST, [200, 200, 200], baseline=True)
    verdict = judge(records, demo_profile, baseline=baseline)
    nav = _check(verdict, "seamless.navigations")
    assert nav.status == "fail"
    assert "target median 2 (n=3)" not in nav.summary  # a count prints its own distribution
    assert "browse: target median 2 (2..2, n=3) vs baseline median 1 (1..1, n=3)" in nav.summary


def test_without_baseline_or_limits_the_gate_is_inconclusive(demo_profile: Profile) -> None:
    # The default seamless section (the demo's own raises its limits for a loaded runner).
    profile = demo_profile.model_copy(update={"seamless": SeamlessPolicy()})
    verdict = judge(_runs(TEST, [200]), profile)
    seamless = verdict.categories["seamless"]
    unjudged = [c.id for c in seamless.checks if c.status == "not_judged" and c.required]
    assert seamless.status == "inconclusive"
    assert {"seamless.errors", "seamless.screens", "seamless.navigations"} <= set(unjudged)
    # The default absolute limit judges buy -> checkout-ready (1000 ms) without a baseline.
    assert _check(verdict, "seamless.timing").status == "pass"
    slow = judge(_runs(TEST, [3500]), profile)
    assert _check(slow, "seamless.timing").status == "fail"
    assert "absolute limit 1000 ms" in _check(slow, "seamless.timing").summary


def test_waivers_let_the_gate_pass_and_are_shown(demo_profile: Profile) -> None:
    policy = SeamlessPolicy.model_validate(
        {
            "limits": {"errors": 0, "navigations": 3, "actions": 20, "origins": 1},
            "waive": [{"check": "screens", "reason": "no screenshots of the old shop exist"}],
        }
    )
    profile = demo_profile.model_copy(update={"seamless": policy})
    verdict = judge(_runs(TEST, [200]), profile)
    screens = _check(verdict, "seamless.screens")
    assert screens.status == "not_judged"
    assert not screens.required
    assert "waived by the profile: no screenshots of the old shop exist" in screens.summary
    assert verdict.categories["seamless"].status == "pass"
    from paywitness.report_text import verdict_table

    assert "waiver: seamless.screens -- no screenshots" in verdict_table(verdict)


def test_a_timing_whose_moment_was_never_marked_names_it_and_how_to_mark_it(
    demo_profile: Profile,
) -> None:
    # The demo profile's absolute limit would judge buy -> checkout-ready; without `buy` it
    # cannot be computed, and the pay timing that is there must not pass the check instead.
    verdict = judge(_runs(TEST, [200], unmarked=["buy"]), demo_profile)
    timing = _check(verdict, "seamless.timing")
    assert timing.status == "not_judged"
    assert timing.required
    assert "buy_to_checkout_ready_ms cannot be computed" in timing.summary
    assert "never marked the moment(s) `buy`;" in timing.summary
    assert "add `moment: buy` to the flow step where it happens" in timing.summary
    assert 'witness.moment("buy", page)' in timing.summary
    assert "test_purchase[card]" in timing.summary
    assert timing.figures["missing_moments"] == {"test_purchase[card]": ["buy"]}
    assert verdict.categories["seamless"].status == "inconclusive"
    assert any("seamless.timing not judged" in r and "`buy`" in r for r in verdict.reasons)
    # Every moment marked: the same purchase is timed and judged.
    assert _check(judge(_runs(TEST, [200]), demo_profile), "seamless.timing").status == "pass"
    # A slow figure still fails, and the missing moment is named beside it.
    slow = _check(judge(_runs(TEST, [3500], unmarked=["pay"]), demo_profile), "seamless.timing")
    assert slow.status == "fail"
    assert "`moment: pay`" in slow.summary


def test_bad_seamless_sections_are_profile_errors(demo_profile: Profile) -> None:
    with pytest.raises(ValueError, match="not a seamless check"):
        SeamlessPolicy.model_validate({"waive": [{"check": "speed", "reason": "because"}]})
    with pytest.raises(ValueError, match="above the Web Vitals 'poor' threshold"):
        SeamlessPolicy.model_validate({"limits": {"inp_ms": 900}})
    with pytest.raises(ValueError, match="not a timing figure"):
        SeamlessPolicy.model_validate({"limits": {"timings_ms": {"buy_ms": 5}}})
    assert issubclass(ProfileError, Exception)


def test_a_run_cut_short_judges_nothing_it_did_not_finish(demo_profile: Profile) -> None:
    records = _runs(TEST, [200])
    baseline = _runs(TEST, [200], baseline=True)
    cut = set_aside_cut_short(records, [TEST])
    verdict = judge(cut, demo_profile, baseline=baseline)
    assert _check(verdict, "seamless.address-bar").status == "not_judged"
    assert "cut short" in _check(verdict, "seamless.address-bar").summary
    # A popup it showed before stopping still counts.
    with_popup = set_aside_cut_short(_runs(TEST, [200], popups=1), [TEST])
    verdict = judge(with_popup, demo_profile, baseline=baseline)
    assert _check(verdict, "seamless.popups").status == "fail"


def test_web_vitals_values_replace_the_estimates_and_name_the_cause(
    demo_profile: Profile,
) -> None:
    records = _runs(TEST, [200])
    last = records[-1]
    for i, value in enumerate((0.12, 0.31)):  # web-vitals reports every change; the last counts
        records.append(
            flow_record(
                kind="client",
                id=f"wv-{i}",
                ts=last.ts_start + i,
                step="checkout",
                url="https://shop.social.test/",
                test=TEST,
                probe="vital",
                metric="cls",
                value=value,
                scope="page",
                page=0,
                cause="div#checkout>img.badge",
            )
        )
    verdict = judge(records, demo_profile)
    cls = _check(verdict, "seamless.cls")
    assert cls.status == "fail"
    assert cls.figures["page"]["observed"] == 0.31
    assert "caused by div#checkout>img.badge" in cls.summary


def test_a_scenario_that_buys_nothing_needs_no_moments(demo_profile: Profile) -> None:
    """A user's scenario that only looks at the page marks no moment: it is not a purchase
    with a moment missing, so the purchase beside it is timed and judged."""
    looked = "tests/own/test_own.py::test_my_browser_is_the_profiles"
    everything = ("browse", "buy", "checkout-ready", "pay", "confirmation")
    records = _runs(TEST, [200]) + _runs(looked, [200], unmarked=everything)
    timing = _check(judge(records, demo_profile), "seamless.timing")
    assert timing.status == "pass", timing.summary
    # Had it marked one of them, the others it lacks would be named.
    partial = _runs(TEST, [200]) + _runs(looked, [200], unmarked=["checkout-ready"])
    assert _check(judge(partial, demo_profile), "seamless.timing").status == "not_judged"
