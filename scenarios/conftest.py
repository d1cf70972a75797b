"""The standard scenarios refuse, before any browser starts, a profile they cannot drive."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness.flow import standard_problems
from paywitness.plugin import RUN_KEY


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash.get(RUN_KEY, None)
    here = Path(__file__).resolve().parent
    if run is None or not any(here in Path(it.path).resolve().parents for it in items):
        return
    problems = standard_problems(run.profile)
    if problems:
        raise pytest.UsageError(
            f"paywitness: the standard scenarios cannot run on profile {run.profile_path}: "
            + "; ".join(problems)
        )
