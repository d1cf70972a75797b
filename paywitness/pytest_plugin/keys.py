"""Stash keys shared by the modules of the pytest layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the session (and mitmproxy) load only once the plugin is configured
    from paywitness.initiators import InitiatorWatch
    from paywitness.pytest_plugin.outcomes import ScenarioOutcomes
    from paywitness.session import RecordingSession, RunResult

__all__ = ["INITIATORS_KEY", "OUTCOMES_KEY", "RESULT_KEY", "SESSION_KEY"]

#: The run's recording session (one per pytest process: the controller's records nothing).
SESSION_KEY: pytest.StashKey[RecordingSession] = pytest.StashKey()
#: How each scenario ended (collected on the xdist controller too: reports travel).
OUTCOMES_KEY: pytest.StashKey[ScenarioOutcomes] = pytest.StashKey()
#: What the session decided at the end of the run (None: nothing was recorded).
RESULT_KEY: pytest.StashKey[RunResult | None] = pytest.StashKey()
#: A test's initiator watch, which its probe fixture attaches to the page before it navigates.
INITIATORS_KEY: pytest.StashKey[InitiatorWatch] = pytest.StashKey()
