"""Stash keys shared by the modules of the pytest layer."""

from __future__ import annotations

import pytest

from paywitness.pytest_plugin.outcomes import ScenarioOutcomes
from paywitness.session import RecordingSession, RunResult

__all__ = ["OUTCOMES_KEY", "RESULT_KEY", "SESSION_KEY"]

#: The run's recording session (one per pytest process: the controller's records nothing).
SESSION_KEY = pytest.StashKey[RecordingSession]()
#: How each scenario ended (collected on the xdist controller too: reports travel).
OUTCOMES_KEY = pytest.StashKey[ScenarioOutcomes]()
#: What the session decided at the end of the run (None: nothing was recorded).
RESULT_KEY = pytest.StashKey[RunResult | None]()
