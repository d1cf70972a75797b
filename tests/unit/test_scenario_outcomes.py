"""How scenarios ended, as the run verdict counts them: a failure on findings is complete, any
other failure or error (tagged as a scenario or not, e.g. a crashed xdist worker) is not."""

from __future__ import annotations

import pytest

from paywitness.pytest_plugin.outcomes import JUDGED_PROPERTY, SCENARIO_PROPERTY
from paywitness.pytest_plugin.outcomes import ScenarioOutcomes as _ScenarioOutcomes
from paywitness.run import unfinished_of


def _report(nodeid: str, when: str, outcome: str, *props: str) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=nodeid,
        location=("t.py", 0, nodeid),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=None if outcome == "passed" else "boom",
        when=when,  # type: ignore[arg-type]
        user_properties=[(p, True) for p in props],
    )


def test_failures_on_findings_are_complete_every_other_failure_is_not() -> None:
    t = _ScenarioOutcomes()
    for nodeid, outcome, props in [
        ("t::ok", "passed", (SCENARIO_PROPERTY,)),
        ("t::judged", "failed", (SCENARIO_PROPERTY, JUDGED_PROPERTY)),
        ("t::assert", "failed", (SCENARIO_PROPERTY,)),
    ]:
        t.pytest_runtest_logreport(_report(nodeid, "setup", "passed", *props))
        t.pytest_runtest_logreport(_report(nodeid, "call", outcome, *props))
        t.pytest_runtest_logreport(_report(nodeid, "teardown", "passed", *props))
    # A setup error with no properties at all: what xdist reports for a crashed worker, or a
    # browser that failed to start before anything tagged the test.
    t.pytest_runtest_logreport(_report("t::crashed", "setup", "failed"))
    t.pytest_runtest_logreport(_report("t::plain", "call", "passed"))  # not a scenario: ignored
    assert t.outcomes == {
        "t::ok": "passed",
        "t::judged": "failed",
        "t::assert": "failed",
        "t::crashed": "error",
    }
    assert t.judged == {"t::judged"}
    assert unfinished_of(t.outcomes, t.judged) == ["t::assert", "t::crashed"]


def test_a_teardown_error_after_findings_is_unfinished() -> None:
    t = _ScenarioOutcomes()
    t.pytest_runtest_logreport(
        _report("t::x", "call", "failed", SCENARIO_PROPERTY, JUDGED_PROPERTY)
    )
    t.pytest_runtest_logreport(_report("t::x", "teardown", "failed", SCENARIO_PROPERTY))
    assert t.outcomes == {"t::x": "error"}
    assert unfinished_of(t.outcomes, t.judged) == ["t::x"]
