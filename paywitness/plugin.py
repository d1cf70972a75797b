"""pytest plugin entry point (`pytest11` name `paywitness`): the hooks of the pytest layer.

The layer itself is the package `paywitness.pytest_plugin`; this module stays where the entry
point names it, so installed projects keep working.
"""

from __future__ import annotations

from paywitness.pytest_plugin.hooks import (
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]
