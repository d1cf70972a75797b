"""Nightly trend: runs sharing a reports folder chart their scorecards in report.html and feed
Allure 3's history; both checked by rendering them in headless Chromium."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import pytest
from playwright.sync_api import Playwright

from paywitness.browser import find_chromium
from paywitness.cli import main
from paywitness.evidence.allure_report import allure_binary

from .conftest import make_run

CHROMIUM = find_chromium(None, headless=True)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs a Chromium")


@needs_chromium
def test_report_html_charts_the_runs_of_its_reports_folder(
    tmp_path: Path, pw_session: Playwright
) -> None:
    reports = tmp_path / "reports"
    make_run(reports / "night1", tmp_path)
    make_run(reports / "night2", tmp_path, payment_host="api.social.test")  # a failing night
    first = (reports / "night1" / "report.html").read_text()
    assert "one run so far" in first
    with nullcontext(pw_session) as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto((reports / "night2" / "report.html").as_uri())
        runs = page.locator("svg .trend-run")
        assert runs.count() == 2
        fills = [runs.nth(i).get_attribute("fill") for i in range(2)]
        assert fills == ["#1a7f37", "#cf222e"]  # pass, then fail
        progress = page.locator('polyline[data-series="progress"]').get_attribute("points")
        assert progress is not None
        assert len(progress.split()) == 2
        (y1, y2) = (float(pt.split(",")[1]) for pt in progress.split())
        assert y2 > y1  # lower progress is drawn lower on the chart
        page.locator("#trend").scroll_into_view_if_needed()
        shot = tmp_path / "trend.png"
        page.locator("svg[aria-label='scorecard trend']").screenshot(path=str(shot))
        browser.close()
    assert shot.stat().st_size > 1000


def _allure_results(bundle: Path, status: str) -> None:
    results = bundle / "allure-results"
    results.mkdir(parents=True)
    now = int(time.time() * 1000)
    for name, st in (("test_payment", status), ("test_data", "passed")):
        u = str(uuid.uuid4())
        result = {
            "uuid": u,
            "historyId": name,
            "testCaseId": name,
            "name": name,
            "fullName": f"scenarios.{name}",
            "status": st,
            "start": now,
            "stop": now + 100,
            "labels": [],
        }
        (results / f"{u}-result.json").write_text(json.dumps(result))


@needs_chromium
@pytest.mark.skipif(
    allure_binary() is None or shutil.which("node") is None,
    reason="needs Allure 3 (npm ci) and Node",
)
def test_two_runs_in_one_reports_folder_give_allure_a_two_point_trend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pw_session: Playwright
) -> None:
    reports = tmp_path / "reports"
    for n, status in enumerate(("passed", "failed"), 1):
        _allure_results(reports / f"night{n}", status)
        assert main(["allure", str(reports / f"night{n}")]) == 0
    history = (reports / "allure-history.jsonl").read_text().splitlines()
    assert len(history) == 2
    index = reports / "allure-report" / "index.html"
    assert not (reports / "allure-report" / "allure-report").exists()  # never nested
    with nullcontext(pw_session) as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(index.as_uri())
        trend = page.locator("[data-id=trend], .widget").filter(has_text="Trend").first
        trend.wait_for()
        # The chart's SVG is drawn after the widget appears (CI once read no labels at all).
        trend.locator("svg text").first.wait_for()
        labels = trend.locator("svg text").evaluate_all("els => els.map(e => e.textContent)")
        trend.screenshot(path=str(tmp_path / "allure-trend.png"))
        browser.close()
    assert "#1" in labels
    assert "#2" in labels
