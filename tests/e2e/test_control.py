"""`--control` (issue 18, item 2): the same purchase without the proxy, compared.

The compliant demo judges observation.control and passes; a shop that recognises the proxy's TLS
client (`proxy-aware-routing`) passes without the control and is inconclusive with it, the
differing pay call listed; a remote browser gets no control, said so in the verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from demo_runs import MATRIX_SEED, DemoRuns, unjudged_only_for_want_of_a_baseline
from leak_search import bundle_views, find_leaks, planted_values, searched_values, word_bounded


def _control(verdict: dict[str, Any]) -> dict[str, Any]:
    (check,) = verdict["categories"]["observation"]["checks"]
    assert check["id"] == "observation.control"
    return dict(check)


def test_the_compliant_demo_passes_observation_control(demo_runs: DemoRuns) -> None:
    # The routing scenario and one resilience scenario, without the seamless comparison (its
    # timings fail on a loaded machine whatever the control does): the run is inconclusive only
    # for want of a baseline, and the control adds no reason (`paywitness demo --control` on the
    # whole suite passes, exit 0: docs/own-shop.md section 17).
    run = demo_runs.get(
        "--seed", str(MATRIX_SEED), "--method", "card", "--control",
        "-k", "paid_in_commerce or (fault_then_paid_once and commerce-503)",
    )  # fmt: skip
    verdict = run.verdict()
    assert run.returncode == 3, run.tail
    assert unjudged_only_for_want_of_a_baseline(verdict), run.tail
    check = _control(verdict)
    assert check["status"] == "pass", check["summary"]
    replayed = check["figures"]["replayed"]
    (test,) = replayed
    assert test.split("::")[-1].startswith("test_purchase_is_paid_in_commerce[")
    assert check["figures"]["control_seconds"] > 0
    # A scenario whose faults the proxy injects is listed with why it was not replayed.
    (skipped, why), *_ = check["figures"]["not_replayed"].items()
    assert "fault_then_paid_once" in skipped
    assert "faults are injected by the proxy" in why
    # The control page marked the purchase's moments, timed by the same figure code; one scenario
    # a side is too few pairs for the rank test: stated as not compared, never passed silently.
    timings = check["figures"]["timings"]
    assert timings["buy_to_checkout_ready_ms"]["status"] == "not_compared"
    assert timings["buy_to_checkout_ready_ms"]["without_proxy"]["n"] == 1
    assert "timings not compared: buy_to_checkout_ready_ms (1 pair(s)" in check["summary"]
    # The control browser's own protocols were recorded (no proxy: its TLS, its HTTP versions).
    assert check["figures"]["control_protocols"]
    assert "observation.control" in run.stdout  # the terminal summary
    assert "observation.control" in (run.output / "report.html").read_text(encoding="utf-8")
    allure = run.output / "allure-results"
    names = [json.loads(p.read_text())["name"] for p in allure.glob("*-result.json")]
    assert "observation.control: pass" in names
    # The control's records are masked like the run's: no planted value in any encoding.
    planted, _ = planted_values(run.output)
    views = list(bundle_views(run.output))
    assert any(where.startswith("control-ledger") for where, _ in views)
    assert not find_leaks(views, searched_values(planted), word_bounded(planted))


def test_proxy_aware_routing_passes_observed_and_is_inconclusive_with_the_control(
    demo_runs: DemoRuns,
) -> None:
    observed = demo_runs.get(
        "--seed", str(MATRIX_SEED), "--method", "card", "-k", "paid_in_commerce",
        "--violation", "proxy-aware-routing",
    )  # fmt: skip
    # Under the proxy the shop is compliant: nothing but the missing baseline keeps it open.
    assert unjudged_only_for_want_of_a_baseline(observed.verdict()), observed.tail
    assert "observation" not in observed.verdict()["categories"]

    run = demo_runs.matrix("proxy-aware-routing")
    assert "--control" in run.args
    verdict = run.verdict()
    assert run.returncode == 3, run.tail
    assert verdict["verdict"] == "inconclusive"
    assert verdict["categories"]["payment"]["status"] == "pass"  # the proxy saw compliance
    check = _control(verdict)
    assert check["status"] == "not_judged"
    assert check["required"]
    listed = {
        (d["side"], d["method"], d["host"], d["role"], d["step"], d.get("payment_class"))
        for d in check["figures"]["differing_requests"]
    }
    assert ("without the proxy only", "POST", "api.social.test", "social", "pay", "pay") in listed
    assert ("with the proxy only", "POST", "api.commerce.test", "commerce", "pay", "pay") in listed
    reasons = verdict["reasons"]
    assert any(r.startswith("observation: the shop behaved differently") for r in reasons)
    (finding,) = [f for f in verdict["findings"] if f["category"] == "observation"]
    assert "api.social.test/api/orders/" in finding["message"]
    html = (run.output / "report.html").read_text(encoding="utf-8")
    assert "without the proxy only" in html


def test_control_with_a_remote_browser_is_stated_not_run(
    browser_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--method", "card", "--control",
         "-k", "paid_in_commerce", "--output", str(out),
         f"--paywitness-connect={browser_server}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in r.stdout + r.stderr
    verdict = json.loads((out / "verdict.json").read_text())
    assert r.returncode == 3, r.stdout[-3000:] + r.stderr  # the routing scenario has no baseline
    assert unjudged_only_for_want_of_a_baseline(verdict), r.stdout[-3000:]
    check = _control(verdict)
    assert check["status"] == "not_judged"
    assert not check["required"]
    assert f"the remote browser at {browser_server}" in check["summary"]
    assert "run was judged without one" in check["summary"]
    (ledger,) = out.glob("control-ledger*.jsonl")  # the refusal, recorded; no request
    assert '"probe":"request"' not in ledger.read_text()
