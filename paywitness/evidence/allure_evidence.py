"""Allure results (only with `--alluredir`): epics = categories, steps = scenario steps, with
each step's screenshot and flows (HAR), the Playwright trace, environment and categories."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import allure
import pytest

from paywitness.evidence.capture import StepCapture
from paywitness.evidence.har import har_entries_path
from paywitness.evidence.scorecard import CATEGORY_TITLES

__all__ = ["TRACE_MIME", "AllureEvidence", "write_allure_checks", "write_allure_meta"]

TRACE_MIME = "application/vnd.allure.playwright-trace"
_CATEGORIES = [
    {
        "name": f"{title}: finding",
        "matchedStatuses": ["failed"],
        "messageRegex": rf"(?s).*\[{name}/.*",
    }
    for name, title in CATEGORY_TITLES.items()
] + [
    {"name": "Inconclusive: too little observed", "messageRegex": "(?s).*verdict: inconclusive.*"},
    {"name": "Harness or target error", "matchedStatuses": ["broken"]},
]


def _step_har(output: Path, worker: str, test: str, step: str) -> dict[str, Any]:
    entries = []
    path = har_entries_path(output, worker)
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            tag = e.get("_paywitness") or {}
            if tag.get("test") == test and tag.get("step") == step:
                e["pageref"] = "page_1"
                entries.append(e)
    started = entries[0]["startedDateTime"] if entries else "1970-01-01T00:00:00+00:00"
    page: dict[str, Any] = {
        "startedDateTime": started,
        "id": "page_1",
        "title": step,
        "pageTimings": {},
    }
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "paywitness", "version": ""},
            "pages": [page],
            "entries": entries,
        }
    }


class AllureEvidence:
    """Feeds a witnessed test's steps and files to allure-pytest."""

    def attach(self, capture: StepCapture, item: pytest.Item, worker: str) -> None:
        marker = item.get_closest_marker("paywitness_category")
        if marker and marker.args:
            allure.dynamic.epic(CATEGORY_TITLES.get(str(marker.args[0]), str(marker.args[0])))
        test = item.nodeid

        @contextmanager
        def step(name: str, index: int) -> Iterator[None]:
            with allure.step(f"{index}. {name}"):
                try:
                    yield
                finally:
                    capture.screenshot(name, index)
                    har = _step_har(capture.output, worker, test, name)
                    allure.attach(
                        json.dumps(har, indent=1),
                        name=f"{name} flows ({len(har['log']['entries'])}).har",
                        attachment_type="application/json",
                        extension="har",
                    )

        capture.outer_step = step

        def on_file(kind: str, path: Path, step_name: str | None) -> None:
            if kind == "screenshot":
                allure.attach.file(
                    str(path), name=path.name, attachment_type=allure.attachment_type.PNG
                )
            elif kind == "trace":
                allure.attach.file(
                    str(path), name="Playwright trace", attachment_type=TRACE_MIME, extension="zip"
                )

        capture.listeners.append(on_file)


def write_allure_meta(alluredir: Path, run: dict[str, Any]) -> None:
    """environment.properties and categories.json for the Allure report."""
    alluredir.mkdir(parents=True, exist_ok=True)
    browsers = run.get("browsers") or [{}]
    env = {
        "paywitness": run.get("version"),
        "commit": (run.get("git") or {}).get("commit"),
        "profile": (run.get("profile") or {}).get("name"),
        "profile.sha256": (run.get("profile") or {}).get("sha256"),
        "target": run.get("target"),
        "seed": run.get("seed"),
        "browser": f"{browsers[0].get('name', '')} {browsers[0].get('version', '')}".strip(),
        "violations": ",".join(run.get("violations") or []) or "none",
    }
    # The clause each category enforces shows on the Allure report's front page.
    for key, clause in (run.get("regulation") or {}).items():
        env[f"regulation.{key}"] = clause.get("clause")
    lines = [f"{k}={v}" for k, v in env.items() if v not in (None, "")]
    (alluredir / "environment.properties").write_text("\n".join(lines) + "\n", "utf-8")
    (alluredir / "categories.json").write_text(json.dumps(_CATEGORIES, indent=2), "utf-8")


# A verdict check as an Allure result: judged checks pass or fail; a check that could not be
# judged is "unknown" (never "passed"), and a waived one "skipped" with its reason.
_CHECK_STATUS = {"pass": "passed", "fail": "failed"}


def write_allure_checks(alluredir: Path, verdict: dict[str, Any]) -> int:
    """One Allure result per check of the run's verdict, under the suite "paywitness verdict".

    The scenarios' own results say whether each purchase went through; these say what was
    judged, so a check left `not_judged` or `not_observed` shows in Allure as such (status
    unknown, the reason as its message) instead of hiding behind passed scenarios. Returns the
    number of results written."""
    alluredir.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    written = 0
    for category, result in (verdict.get("categories") or {}).items():
        title = CATEGORY_TITLES.get(category, category)
        for check in result.get("checks") or []:
            status = str(check.get("status"))
            summary = str(check.get("summary") or "")
            allure_status = _CHECK_STATUS.get(status)
            if allure_status is None:
                allure_status = "skipped" if "waived" in summary else "unknown"
            name = f"{check.get('id')}: {status.replace('_', ' ')}"
            full = f"paywitness.verdict.{check.get('id')}"
            data = {
                "uuid": str(uuid.uuid4()),
                "historyId": hashlib.md5(full.encode(), usedforsecurity=False).hexdigest(),
                "testCaseId": hashlib.md5(full.encode(), usedforsecurity=False).hexdigest(),
                "fullName": full,
                "name": name,
                "status": allure_status,
                "statusDetails": {"message": summary},
                "stage": "finished",
                "start": now,
                "stop": now,
                "labels": [
                    {"name": "parentSuite", "value": "paywitness verdict"},
                    {"name": "suite", "value": title},
                    {"name": "epic", "value": title},
                    {"name": "feature", "value": "verdict checks"},
                    {"name": "tag", "value": status},
                ],
            }
            (alluredir / f"{data['uuid']}-result.json").write_text(json.dumps(data), "utf-8")
            written += 1
    return written
