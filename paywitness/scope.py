"""What a witness mode can observe, stated up front and applied to the verdict.

A phone shows paywitness only its traffic, never its screen (so does the recording browser of
`paywitness record`): seamless figures and merchant displays cannot be observed there, and the
verdict says so instead of passing quietly on what it could see. Any other category left
unjudged keeps the run from passing (inconclusive) unless it is waived with a reason; the
verdict's meta names the mode, so a re-judged bundle applies the same scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from paywitness.verdict import CATEGORIES, UNJUDGED, Verdict

__all__ = ["MODE_SCOPES", "ModeScope", "apply_mode_scope", "apply_scope"]

_TITLES = {
    "payment": "payment",
    "data": "data",
    "merchant_ops": "merchant displays",
    "seamless": "seamless",
}


@dataclass(frozen=True)
class ModeScope:
    """The categories a mode cannot observe (with why), and the sentence that says so."""

    statement: str
    unobservable: Mapping[str, str] = field(default_factory=dict)
    #: Checks (by id) the mode cannot judge although it sees the category, with why: waived
    #: where they come out unjudged, stated in the check and the verdict, never passed.
    unjudgeable_checks: Mapping[str, str] = field(default_factory=dict)


MODE_SCOPES: dict[str, ModeScope] = {
    # `paywitness record`: a person buys once so that paywitness can write the flow down; the
    # recording browser carries no probe, so what only a measured purchase shows is judged when
    # the written flow is replayed.
    "record": ModeScope(
        statement=(
            "payment and data judged; merchant displays and seamless are judged when the "
            "written flow is replayed (paywitness run --profile WRITTEN.yaml)"
        ),
        unobservable={
            "merchant_ops": (
                "merchant displays are judged when the written flow is replayed, not in the "
                "recording"
            ),
            "seamless": (
                "seamless is measured when the written flow is replayed, not in the recording"
            ),
        },
    ),
    "witness-phone": ModeScope(
        statement=(
            "payment and data judged; seamless and merchant displays cannot be observed from "
            "a phone — use browser mode for them"
        ),
        unobservable={
            "merchant_ops": "merchant displays cannot be observed from a phone; use browser mode",
            "seamless": "seamless cannot be observed from a phone; use browser mode",
        },
    ),
    "witness-browser": ModeScope(
        statement="payment, data, merchant displays and seamless are all judged in a browser",
        # Seamless in a witnessed run is judged by the profile's absolute `seamless.limits`:
        # a person's purchase is not replayed on the shop before the migration. A check with
        # neither a baseline nor a limit is waived here, by name and with why; a profile that
        # sets the limit gets it judged.
        unjudgeable_checks={
            "seamless.screens": (
                "screens are compared only with a baseline's screenshots of the same moments, "
                "and a purchase made by hand has no baseline replay; `paywitness demo` or a run "
                "with --baseline compares them"
            ),
            "seamless.new-origins": (
                "the origins the address bar showed are judged by seamless.address-bar; their "
                "count is compared with a baseline replay, which a purchase made by hand has "
                "not, or with `seamless.limits.origins`, which the profile does not set"
            ),
            "seamless.errors": (
                "page errors, console errors and failed requests are counted against a baseline "
                "replay, which a purchase made by hand has not, or against "
                "`seamless.limits.errors`, which the profile does not set"
            ),
            "seamless.actions": (
                "how many actions a person takes depends on how they buy by hand; the count is "
                "compared with a baseline replay of the same scripted purchase, or with "
                "`seamless.limits.actions`, which the profile does not set"
            ),
            "seamless.timing": (
                "a purchase made by hand marks no moments (buy, checkout-ready, ...) and is "
                "not replayed on a baseline; the timings it shows are judged only where "
                "`seamless.limits.timings_ms` names them, and the profile names none of them"
            ),
            "seamless.navigations": (
                "how many pages a person opens depends on how they buy by hand; the count is "
                "compared with a baseline replay of the same scripted purchase, or with "
                "`seamless.limits.navigations`, which the profile does not set"
            ),
        },
    ),
}


def _waive_checks(verdict: Verdict, scope: ModeScope) -> dict[str, str]:
    """Make the mode's unjudgeable checks that came out unjudged optional, saying why; the
    checks waived."""
    waived: dict[str, str] = {}
    for cat in verdict.categories.values():
        for check in cat.checks:
            why = scope.unjudgeable_checks.get(check.id)
            if why is None or check.status not in UNJUDGED or not check.required:
                continue
            check.required = False
            check.summary += f" -- waived in this mode: {why}"
            waived[check.id] = why
    return waived


def _decide_again(verdict: Verdict) -> None:
    """The verdict after checks were waived, decided by the one rule (`Verdict.decide`); a
    scenario that did not complete still keeps the run from passing."""
    again = Verdict.decide(verdict.categories.values(), meta=verdict.meta)
    unfinished = [r for r in verdict.reasons if "did not complete" in r]
    if unfinished and again.verdict == "pass":
        again.verdict = "inconclusive"
        again.reasons = unfinished
    verdict.verdict = again.verdict
    verdict.reasons = again.reasons


def apply_scope(
    verdict: Verdict, mode: str, waivers: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Waive what `mode` cannot observe (stated), make any other unjudged category keep the run
    from passing unless `waivers` names it with a reason; the scope as stored in the verdict."""
    scope = MODE_SCOPES[mode]
    waived_checks = _waive_checks(verdict, scope)
    if waived_checks:
        _decide_again(verdict)
    waived = {**scope.unobservable, **(waivers or {})}
    judged: list[str] = []
    missing: list[str] = []
    for name in CATEGORIES:
        cat = verdict.categories.get(name)
        status = cat.status if cat is not None else "not_judged"
        if status != "not_judged":
            judged.append(name)
        elif name not in waived:
            missing.append(name)
            if cat is not None:
                why = "; ".join(c.summary for c in cat.checks if c.status == "not_observed")
            else:
                why = "no check ran"
            verdict.reasons.append(
                f"{name}: not judged ({why or 'nothing to judge'}); it keeps the run from "
                "passing unless the profile waives it with a reason"
            )
    if missing and verdict.verdict == "pass":
        verdict.verdict = "inconclusive"
    unobserved = [n for n in CATEGORIES if n not in judged]
    statement = (
        scope.statement
        if not missing
        else (
            f"{', '.join(_TITLES[n] for n in judged) or 'nothing'} judged; not judged: "
            + ", ".join(_TITLES[n] for n in unobserved)
        )
    )
    verdict.reasons.append(f"scope: {statement}")
    for name in unobserved:
        if name in waived:
            verdict.reasons.append(f"waived: {name}: {waived[name]}")
    for check_id, why in waived_checks.items():
        verdict.reasons.append(f"waived: {check_id}: {why}")
    stored: dict[str, object] = {
        "mode": mode,
        "statement": statement,
        "judged": judged,
        "not_judged": missing,
        "waived": {n: waived[n] for n in unobserved if n in waived},
        "extra_waivers": dict(waivers or {}),
        "waived_checks": waived_checks,
    }
    verdict.meta["scope"] = stored
    return stored


def apply_mode_scope(verdict: Verdict) -> None:
    """The scope of the witness mode the verdict's meta names (no-op for any other run); the
    same at run time and when a stored bundle is judged again."""
    mode = verdict.meta.get("mode")
    if not isinstance(mode, str) or mode not in MODE_SCOPES:
        return
    stored = verdict.meta.get("scope")
    extra = stored.get("extra_waivers") if isinstance(stored, dict) else None
    apply_scope(verdict, mode, extra if isinstance(extra, dict) else None)
