"""Shared helpers for the harness's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness.profile import Profile, demo_profile_path, load_profile


@pytest.fixture(scope="session")
def demo_profile() -> Profile:
    """The built-in demo profile, loaded once."""
    return load_profile(demo_profile_path())


@pytest.fixture
def write_profile(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a profile file and return its path."""

    def _write(text: str, name: str = "profile.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
