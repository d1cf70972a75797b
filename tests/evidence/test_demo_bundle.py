"""End to end: `paywitness demo` leaves a verifiable bundle with nothing raw in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paywitness.evidence.har import validate_har
from paywitness.evidence.manifest import bundle_files
from paywitness.evidence.signing import fingerprint, init_key, load_signing_key

from .leaks import bundle_views, cookie_values, find_leaks, planted_values

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs a Chromium for the demo run"
)


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """One demo run for the module: its bundle, its terminal output and its cookie journal."""
    tmp = tmp_path_factory.mktemp("demo")
    out, journal = tmp / "bundle", tmp / "cookies.jsonl"
    key, _, _ = init_key(tmp / "signing.key")
    cmd = [
        sys.executable,
        "-m",
        "paywitness.cli",
        "demo",
        "--output",
        str(out),
        "--seed",
        "7",
        "--method",
        "card",
        "--sign",
        str(key),
        "-p",
        "tests.evidence.cookie_journal",
        f"--cookie-journal={journal}",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=900, check=False, cwd=ROOT, env=env
    )
    # The verdict is not this module's concern (tests/cli judges the demo; under load its
    # timings may fail): the bundle is, and every run that recorded anything writes one.
    assert (out / "verdict.json").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "migration progress" in proc.stdout
    return out, proc.stdout + proc.stderr, journal


@pytest.fixture(scope="module")
def demo_bundle(demo_run: tuple[Path, str, Path]) -> Path:
    return demo_run[0]


def test_demo_bundle_verifies_and_holds_every_piece(demo_bundle: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "verify", str(demo_bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    public = load_signing_key(demo_bundle.parent / "signing.key").public_key()
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


def test_no_raw_planted_value_or_cookie_in_any_file_of_the_demo_bundle(
    demo_run: tuple[Path, str, Path],
) -> None:
    """Every planted value (rebuilt from the seed) and every cookie the shop set, in every
    simple encoding, in every file (inside zips, gzip, JSON strings, HAR bodies) and the
    terminal output."""
    bundle, terminal, journal = demo_run
    planted, not_rebuilt = planted_values(bundle)
    assert not_rebuilt == [], "planted values the seed did not rebuild"
    assert {kind for _, kind, _ in planted} >= {"name", "email", "phone", "address", "card"}
    values = {value: f"{kind} of {test.split('::')[-1]}" for test, kind, value in planted}
    cookies = cookie_values(journal)
    assert cookies, "the demo shop sets a session cookie"
    values.update(cookies)
    views = [*bundle_views(bundle), ("terminal output", terminal.encode())]
    leaks = find_leaks(views, values)
    assert not leaks, f"{len(leaks)} raw values in the bundle:\n" + "\n".join(leaks)
