"""What a witness mode cannot observe is stated; anything else left unjudged keeps a pass away."""

from __future__ import annotations

from paywitness.evidence.gate import evaluate_gate
from paywitness.profile import Profile
from paywitness.scope import apply_mode_scope, apply_scope
from paywitness.verdict import CATEGORIES, Category, CategoryResult, Check, CheckStatus, Verdict


def seen(*judged: str) -> Verdict:
    """Payment and data judged (pass); the other categories had nothing to judge them by."""

    def cat(name: Category) -> CategoryResult:
        status: CheckStatus = "pass" if name in judged else "not_observed"
        check = Check(f"{name}.x", name, status, f"{name} summary", required=name in judged)
        return CategoryResult(name, checks=[check])

    return Verdict.decide([cat(n) for n in CATEGORIES])


def test_a_phone_passes_on_what_it_saw_and_says_what_it_could_not(
    demo_profile: Profile,
) -> None:
    verdict = seen("payment", "data")
    assert verdict.verdict == "pass"
    apply_scope(verdict, "witness-phone")
    assert verdict.verdict == "pass"
    assert (
        "scope: payment and data judged; seamless and merchant displays cannot be observed "
        "from a phone — use browser mode for them"
    ) in verdict.reasons
    gate = evaluate_gate(verdict.to_dict(), demo_profile.gate)
    assert gate["result"] == "pass"
    assert any(r.startswith("waived: merchant_ops") for r in gate["reasons"])


def test_a_browser_run_that_left_a_category_unjudged_is_inconclusive(
    demo_profile: Profile,
) -> None:
    verdict = seen("payment", "data")
    apply_scope(verdict, "witness-browser")
    assert verdict.verdict == "inconclusive"
    assert any(r.startswith("merchant_ops: not judged") for r in verdict.reasons)
    assert verdict.meta["scope"]["not_judged"] == ["merchant_ops", "seamless"]  # type: ignore[index]
    assert evaluate_gate(verdict.to_dict(), demo_profile.gate)["result"] != "pass"
    waived = seen("payment", "data")
    apply_scope(waived, "witness-browser", {"merchant_ops": "x", "seamless": "no baseline yet"})
    assert waived.verdict == "pass"
    assert "waived: seamless: no baseline yet" in waived.reasons


def test_a_rejudged_bundle_keeps_its_scope(demo_profile: Profile) -> None:
    first = seen("payment", "data")
    apply_scope(first, "witness-browser")
    again = seen("payment", "data")
    again.meta = {"mode": "witness-browser"}  # what a stored witness verdict's meta says
    apply_mode_scope(again)
    assert again.verdict == first.verdict == "inconclusive"
    assert again.reasons == first.reasons


def test_a_browser_run_waives_only_the_checks_that_need_a_baseline_and_says_so(
    demo_profile: Profile,
) -> None:
    """Seamless without a baseline replay: screens cannot be compared, so the check is waived
    in the verdict with its reason; any other unjudged seamless check still keeps the pass away."""

    def browser_run(other: CheckStatus) -> Verdict:
        cats = []
        for name in CATEGORIES:
            checks = [Check(f"{name}.x", name, "pass", f"{name} summary")]
            if name == "seamless":
                checks += [
                    Check("seamless.screens", name, "not_judged", "no baseline screenshots"),
                    Check("seamless.address-bar", name, other, "address-bar summary"),
                ]
            cats.append(CategoryResult(name, checks=checks))
        return Verdict.decide(cats)

    verdict = browser_run("pass")
    assert verdict.verdict == "inconclusive"
    apply_scope(verdict, "witness-browser")
    assert verdict.verdict == "pass"
    (screens,) = [c for c in verdict.categories["seamless"].checks if c.id == "seamless.screens"]
    assert screens.status == "not_judged"  # never called a pass
    assert not screens.required
    assert "waived in this mode" in screens.summary
    assert any(r.startswith("waived: seamless.screens: ") for r in verdict.reasons)
    assert verdict.meta["scope"]["waived_checks"].keys() == {"seamless.screens"}  # type: ignore[index,union-attr]
    assert evaluate_gate(verdict.to_dict(), demo_profile.gate)["result"] == "pass"

    still = browser_run("not_judged")
    apply_scope(still, "witness-browser")
    assert still.verdict == "inconclusive"
    assert any("address-bar summary" in r for r in still.reasons)
    phone = browser_run("pass")
    apply_scope(phone, "witness-phone")  # a phone waives whole categories, no single checks
    assert phone.verdict == "inconclusive"
