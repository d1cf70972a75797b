"""Crash safety: a browser or proxy lost mid-checkout ends `inconclusive` (exit 3), never `pass`,
and the ledger up to that moment is intact on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# A user-style scenario that buys like the standard one and loses a piece of the harness in the
# checkout step, as a crash would: the browser process, or the intercepting proxy (stopped on
# its thread, or its own process killed).
SCENARIO = """
import os
import signal

from paywitness.flow import BuyerValues, run_purchase


def test_purchase_interrupted(page, witness, paywitness_profile, paywitness_proxy, buyer, card):
    hints = paywitness_profile.flow
    with witness.step("browse"):
        page.goto(witness.start_url)
        page.locator(hints.product_ready).first.wait_for()
    with witness.step("checkout"):
        page.locator(hints.buy).first.click()
        if "{what}" == "browser":
            page.context.browser.close()  # the browser is gone mid-checkout
        elif "{what}" == "proxy-thread":
            paywitness_proxy.stop()  # the proxy is gone mid-checkout
        else:
            os.kill(paywitness_proxy.pid, signal.SIGKILL)  # the proxy process dies mid-checkout
        # Never there with the harness gone: the scenario fails here, after a short wait.
        page.locator(hints.pay).click(timeout=1_500)
"""


def run_inconclusive(
    tmp_path: Path, name: str, source: str, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run one user-style scenario file against the demo; the run must end inconclusive (3)."""
    scenario = tmp_path / "scenarios" / name
    scenario.parent.mkdir()
    scenario.write_text(source)
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--scenarios", str(scenario.parent),
         "--output", str(out), "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 3, r.stdout[-3000:] + r.stderr[-2000:]
    return r


@pytest.mark.parametrize("what", ["browser", "proxy-thread", "proxy-process"])
def test_a_crash_mid_checkout_is_inconclusive_with_the_ledger_intact(
    tmp_path: Path, what: str
) -> None:
    out = tmp_path / "bundle"
    mode = ["--paywitness-proxy=process"] if what == "proxy-process" else []
    name = f"test_crash_{what.replace('-', '_')}.py"
    r = run_inconclusive(tmp_path, name, SCENARIO.replace("{what}", what), out, *mode)
    assert "Traceback" not in r.stderr
    if what == "proxy-process":  # the kill landed: the session saw its proxy go, and said so
        assert "the proxy process is gone" in r.stdout + r.stderr
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "inconclusive"
    assert any("did not complete" in reason for reason in verdict["reasons"])
    lines = (out / "ledger.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line whole: nothing torn
    steps = {r["step"] for r in records if r["kind"] == "http"}
    assert "browse" in steps  # what happened before the crash is all there
    assert any(r["kind"] == "mark" and r["step"] == "checkout" for r in records)


# One scenario that buys for real, and one whose setup breaks before its witness exists (as a
# browser that fails to start would, or a test lost with a crashed xdist worker).
SETUP_ERROR = """
import pytest

from paywitness.flow import BuyerValues, run_purchase


@pytest.fixture
def broken():
    raise RuntimeError("the browser could not start")


@pytest.mark.paywitness_category("payment")  # held to what one purchase can judge alone
def test_buys(page, witness, paywitness_profile, buyer, card):
    run_purchase(page, witness, paywitness_profile.flow, BuyerValues.of(buyer, card))
    witness.assert_pass()


def test_breaks_before_its_witness(broken, witness):
    pass
"""


def test_a_scenario_that_errors_before_its_witness_keeps_the_run_from_passing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bundle"
    run_inconclusive(tmp_path, "test_setup_error.py", SETUP_ERROR, out)
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "inconclusive"
    scenarios = {k.rsplit("/", 1)[-1]: v for k, v in verdict["meta"]["scenarios"].items()}
    assert scenarios == {
        "test_setup_error.py::test_breaks_before_its_witness": "error",
        "test_setup_error.py::test_buys[chromium]": "passed",
    }, scenarios
    assert any("test_breaks_before_its_witness" in reason for reason in verdict["reasons"])
    assert verdict["categories"]["payment"]["status"] == "pass"  # what did run is still judged
