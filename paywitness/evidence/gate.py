"""The CI gate: the verdict filtered through the profile's gate policy (fail or warn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paywitness.profile import GatePolicy
from paywitness.verdict import exit_code_for

__all__ = ["evaluate_gate", "evidence_pytest_args", "gate_exit_code"]


def evaluate_gate(verdict: dict[str, Any], policy: GatePolicy) -> dict[str, Any]:
    """`fail`, `warn` or `pass`, with the reasons, for a verdict dict."""
    failing: list[str] = []
    warning: list[str] = []
    findings = verdict.get("findings") or []
    for name, cat in (verdict.get("categories") or {}).items():
        if cat.get("status") != "fail":
            continue
        # An "info" finding is a note (a warning the profile did not make a failure): it never
        # blocks the gate and is not named as why a category failed.
        own = [f for f in findings if f.get("category") == name and f.get("severity") != "info"]
        counted = [f for f in own if f.get("severity") in policy.severities]
        # A failing category without findings (a failed check alone) always counts.
        blocking = bool(counted) or not own
        reason = f"{name} failed" + (
            f" ({', '.join(sorted({str(f.get('rule_id')) for f in counted or own}))})"
            if own
            else ""
        )
        if blocking and policy.action(name) == "fail":
            failing.append(reason)
        else:
            warning.append(reason)
    if verdict.get("verdict") == "inconclusive":
        (failing if policy.inconclusive == "fail" else warning).append("run inconclusive")
    result = "fail" if failing else "warn" if warning else "pass"
    # A category waived with a reason (e.g. what a phone cannot observe) passes, never silently.
    waived = ((verdict.get("meta") or {}).get("scope") or {}).get("waived") or {}
    notes = [f"waived: {name} ({why})" for name, why in sorted(waived.items())]
    return {"result": result, "reasons": failing + [f"warn: {w}" for w in warning] + notes}


def gate_exit_code(verdict: dict[str, Any], gate: dict[str, Any] | None) -> int:
    """The exit code of a verdict dict and its gate (see `paywitness.verdict.exit_code_for`)."""
    return exit_code_for(str(verdict.get("verdict")), gate=(gate or {}).get("result"))


def evidence_pytest_args(output: Path, extra: list[str], *, allure: bool) -> list[str]:
    """JUnit XML (and Allure results) into the bundle unless the user chose elsewhere."""
    args = []
    if not any(a.startswith(("--junitxml", "--junit-xml")) for a in extra):
        args.append(f"--junitxml={output / 'junit.xml'}")
    if allure and not any(a.startswith("--alluredir") for a in extra):
        args.append(f"--alluredir={output / 'allure-results'}")
    return args
