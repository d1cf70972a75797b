"""pytest plugin for a run under test (`-p cookie_journal --cookie-journal=PATH`, with tests/ on
PYTHONPATH).

After each test's body, every cookie every open browser context holds (the values the shop set)
is appended to PATH, outside the bundle: the leak test then searches the bundle for them.
`--cookie-journal=beside-output` writes `<--paywitness-output>.cookies.jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Error, Page

BESIDE_OUTPUT = "beside-output"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("paywitness").addoption(
        "--cookie-journal", default=None, help="Append the browser's cookies per test to PATH"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        journal = item.config.getoption("--cookie-journal")
        if journal == BESIDE_OUTPUT:
            output = Path(item.config.getoption("--paywitness-output"))
            journal = str(output.with_name(output.name + ".cookies.jsonl"))
        if journal:
            _write(Path(journal), item)


def _write(path: Path, item: pytest.Item) -> None:
    contexts: list[BrowserContext] = []
    for value in getattr(item, "funcargs", {}).values():
        context = value.context if isinstance(value, Page) else value
        if isinstance(context, BrowserContext):
            browser = context.browser
            for c in [context, *(browser.contexts if browser else [])]:
                if c not in contexts:
                    contexts.append(c)
    cookies = []
    for context in contexts:
        try:
            cookies += context.cookies()
        except Error:
            continue  # closed by the test itself
    with path.open("a", encoding="utf-8") as fh:
        for c in cookies:
            fh.write(json.dumps({"test": item.nodeid, "name": c["name"], "value": c["value"]}))
            fh.write("\n")
