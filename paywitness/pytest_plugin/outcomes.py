"""How each scenario of the run ended, collected from the test reports."""

from __future__ import annotations

import pytest

from paywitness.combinations import COMBINATION_PROPERTY, combination_of
from paywitness.run import Outcomes

__all__ = ["JUDGED_PROPERTY", "SCENARIO_PROPERTY", "ScenarioOutcomes", "mark_scenario"]

SCENARIO_PROPERTY = "paywitness-scenario"
#: Set on a scenario whose failure is its own judgement (findings), not a crash or a timeout.
JUDGED_PROPERTY = "paywitness-judged"


def mark_scenario(item: pytest.Item) -> None:
    """Tag a scenario (a test using `witness`) so its reports are counted, even a setup error
    that happens before the witness exists (a browser or proxy that failed to start)."""
    names = {k for k, _ in item.user_properties}
    if SCENARIO_PROPERTY not in names:
        item.user_properties.append((SCENARIO_PROPERTY, True))
    combo = combination_of(item)
    if combo and COMBINATION_PROPERTY not in names:
        item.user_properties.append((COMBINATION_PROPERTY, combo))


class ScenarioOutcomes:
    """Collects how each scenario ended (on the xdist controller too: reports travel).

    Any test that fails or errors counts, tagged as a scenario or not: a worker that crashed
    or a fixture that broke before the scenario was tagged leaves a report with no properties,
    and what that test did not get to do was not observed.
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.combinations: dict[str, str] = {}
        #: Scenarios that failed on their own findings: complete, unlike a crash.
        self.judged: set[str] = set()

    def by_combination(self) -> dict[str, dict[str, int]]:
        """Outcome counts per `method · device · locale`, for reports grouped by combination."""
        grouped: dict[str, dict[str, int]] = {}
        for nodeid, outcome in self.outcomes.items():
            combo = self.combinations.get(nodeid, "default")
            counts = grouped.setdefault(combo, {})
            counts[outcome] = counts.get(outcome, 0) + 1
        return dict(sorted(grouped.items()))

    def result(self) -> Outcomes:
        """The outcomes as the recording session takes them."""
        return Outcomes(
            scenarios=dict(self.outcomes),
            failed_on_findings=set(self.judged),
            combinations=self.by_combination(),
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.failed:
            self.outcomes[report.nodeid] = "failed" if report.when == "call" else "error"
            if report.when == "call" and JUDGED_PROPERTY in props:
                self.judged.add(report.nodeid)
        if SCENARIO_PROPERTY not in props:
            return
        if COMBINATION_PROPERTY in props:
            self.combinations[report.nodeid] = str(props[COMBINATION_PROPERTY])
        if report.skipped:
            self.outcomes.setdefault(report.nodeid, "skipped")
        elif report.passed and report.when == "call":
            self.outcomes.setdefault(report.nodeid, "passed")
