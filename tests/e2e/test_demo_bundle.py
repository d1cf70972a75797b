"""End to end: `paywitness demo` leaves a verifiable bundle with nothing raw in it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from demo_runs import COMPLIANT_FULL, DemoRun, DemoRuns

from paywitness.buyers import make_buyer, make_card
from paywitness.evidence.har import validate_har
from paywitness.evidence.manifest import bundle_files

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs a Chromium for the demo run"
)


@pytest.fixture(scope="module")
def demo_run(demo_runs: DemoRuns) -> DemoRun:
    """The session's compliant demo run, the one the CLI test reads too."""
    run = demo_runs.get(*COMPLIANT_FULL)
    assert run.returncode == 0, run.tail
    assert "migration progress" in run.stdout
    return run


@pytest.fixture
def demo_bundle(demo_run: DemoRun) -> Path:
    """Its evidence folder (shared: read only)."""
    return demo_run.output


def test_demo_bundle_verifies_and_holds_every_piece(demo_bundle: Path) -> None:
    rc = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "verify", str(demo_bundle)], check=False
    ).returncode
    assert rc == 0
    files = bundle_files(demo_bundle)
    for name in ("flows.har", "run.json", "scorecard.json", "report.html", "junit.xml"):
        assert name in files
    shots = [f for f in files if f.startswith("screenshots/") and "paid_in_commerce" in f]
    # One screenshot as each step ends, in order: the purchase, then the Shop and Orders tabs.
    assert [Path(s).name for s in shots] == [
        "01-browse.png",
        "02-checkout.png",
        "03-pay.png",
        "04-confirm.png",
        "05-shop.png",
        "06-orders.png",
    ]
    assert any(f.startswith("traces/") and f.endswith(".zip") for f in files)
    assert any(f.startswith("allure-results/") for f in files)
    har = json.loads((demo_bundle / "flows.har").read_text())
    assert validate_har(har) == []
    titles = [p["title"] for p in har["log"]["pages"]]
    # With several scenarios, each page is titled "step · test"; one scenario's pages in order.
    routing = [t.split(" · ")[0] for t in titles if "paid_in_commerce" in t]
    routing = [step for step in routing if step != "unlabelled"]  # after the last step
    assert routing == ["browse", "checkout", "pay", "confirm", "shop", "orders"]
    run = json.loads((demo_bundle / "run.json").read_text())
    assert run["browsers"][0]["version"]
    assert run["proxy_ca"][0]["sha256"]


def test_no_raw_canary_card_or_session_cookie_in_the_demo_bundle(demo_run: DemoRun) -> None:
    demo_bundle = demo_run.output
    har = json.loads((demo_bundle / "flows.har").read_text())
    cookies = {
        c["value"] for e in har["log"]["entries"] for c in e["request"]["cookies"] if c["value"]
    }
    assert cookies, "the demo sets a session cookie"
    assert all(v.startswith("[masked:") for v in cookies)
    test = next(iter(demo_run.verdict()["meta"]["scenarios"]))
    # The scenario's seeded buyer and card, recomputed the way the fixtures make them.
    seed = demo_run.scenario_seed(test)
    buyer, card = make_buyer(seed), make_card(seed, "success")
    raw = [buyer.name, buyer.email, buyer.phone, buyer.street_address, card.number]
    for rel in bundle_files(demo_bundle):
        data = (demo_bundle / rel).read_bytes()
        for value in raw:
            assert value.encode() not in data, f"{value!r} in {rel}"
