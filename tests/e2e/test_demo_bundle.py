"""End to end: `paywitness demo` leaves a verifiable bundle with nothing raw in it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from demo_runs import COMPLIANT_FULL, TEST_SIGNING_KEY, DemoRun, DemoRuns
from leak_search import (
    bundle_views,
    cookie_values,
    find_leaks,
    planted_values,
    searched_values,
    word_bounded,
)

from paywitness.evidence.har import validate_har
from paywitness.evidence.manifest import bundle_files
from paywitness.evidence.signing import fingerprint, load_signing_key

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs a Chromium for the demo run"
)


@pytest.fixture(scope="module")
def demo_run(demo_runs: DemoRuns) -> DemoRun:
    """The session's compliant demo run, the one the CLI test reads too."""
    run = demo_runs.get(*COMPLIANT_FULL)
    # The verdict is the CLI test's concern (under load the demo's timings may fail); this
    # module's is the bundle, which every run that recorded anything writes.
    assert (run.output / "verdict.json").is_file(), run.tail
    assert "migration progress" in run.stdout
    return run


@pytest.fixture
def demo_bundle(demo_run: DemoRun) -> Path:
    """Its evidence folder (shared: read only)."""
    return demo_run.output


def test_demo_bundle_verifies_and_holds_every_piece(demo_bundle: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "verify", str(demo_bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    public = load_signing_key(TEST_SIGNING_KEY).public_key()
    assert f"signed: valid Ed25519 signature by key {fingerprint(public)}" in done.stdout
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
    # Allure holds every check of the verdict with its status, beside the scenarios' results.
    verdict = json.loads((demo_bundle / "verdict.json").read_text())
    checks = {c["id"] for cat in verdict["categories"].values() for c in cat["checks"]}
    in_allure = {
        r["fullName"].removeprefix("paywitness.verdict.")
        for r in map(
            json.loads, map(Path.read_text, demo_bundle.glob("allure-results/*-result.json"))
        )
        if r["fullName"].startswith("paywitness.verdict.")
    }
    assert in_allure == checks
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
    # Provenance: each host's upstream chain, addresses dialled and versions.
    shop = run["provenance"]["hosts"]["shop.social.test"]
    assert shop["chains"][0][0]["spki_sha256"]
    assert all(a.startswith("127.0.0.1:") for a in shop["addresses"])
    assert shop["http_versions"]
    assert run["provenance"]["versions"]["playwright"]


def test_no_raw_planted_value_or_cookie_in_any_file_of_the_demo_bundle(
    demo_run: DemoRun,
) -> None:
    """Every planted value (rebuilt from the seed) and every cookie the shop set, in every
    simple encoding, in every file (inside zips, gzip, JSON strings, HAR bodies) and the
    terminal output."""
    bundle = demo_run.output
    planted, not_rebuilt = planted_values(bundle)
    assert not_rebuilt == [], "planted values the seed did not rebuild"
    kinds = {kind for _, kind, _ in planted}
    assert kinds >= {"name", "email", "phone", "address", "card", "city", "postcode", "region"}
    values = searched_values(planted)
    cookies = cookie_values(demo_run.cookie_journal)
    assert cookies, "the demo shop sets a session cookie"
    values.update(cookies)
    views = [
        *bundle_views(bundle),
        ("terminal output", (demo_run.stdout + demo_run.stderr).encode()),
    ]
    leaks = find_leaks(views, values, word_bounded(planted))
    assert not leaks, f"{len(leaks)} raw values in the bundle:\n" + "\n".join(leaks)


def test_no_trace_holds_screencast_frames(demo_bundle: Path) -> None:
    """A screencast frame is the screen as the buyer typed: card number, CVC, name and address
    in pixels that no text masking reaches. The traces keep DOM snapshots (masked text) only."""
    traces = sorted((demo_bundle / "traces").glob("*.zip"))
    assert traces
    for trace in traces:
        with zipfile.ZipFile(trace) as z:
            assert not [n for n in z.namelist() if n.startswith("screencast/")], trace.name
            events = z.read("trace.trace").decode("utf-8")
            assert '"screencast-frame"' not in events, trace.name
            assert '"frame-snapshot"' in events, trace.name  # the DOM snapshots are there
