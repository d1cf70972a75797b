"""The standard scenarios refuse, before any browser starts, a profile they cannot drive."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness.flow import standard_problems
from paywitness.pytest_plugin.keys import SESSION_KEY


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash.get(SESSION_KEY, None)
    here = Path(__file__).resolve().parent
    if session is None or not any(here in Path(it.path).resolve().parents for it in items):
        return
    problems = standard_problems(session.profile)
    if problems:
        raise pytest.UsageError(
            f"paywitness: the standard scenarios cannot run on profile {session.run.profile_path}: "
            + "; ".join(problems)
        )
