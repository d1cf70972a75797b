"""The spa-shop example through the public API only: a request forced around the proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "spa-shop"

# A shop-specific scenario as a user writes it: the order status is answered in the page.
BYPASS = """
from paywitness import Purchase


def test_status_answered_in_the_page(page, purchase: Purchase):
    page.route("**/v1/orders/*/status", lambda route: route.fulfill(json={"status": "paid"}))
    assert purchase("card").order_number
"""


def test_payment_class_request_around_the_proxy_is_inconclusive(tmp_path):
    scenario = tmp_path / "test_bypass.py"
    scenario.write_text(BYPASS, encoding="utf-8")
    out = tmp_path / "run"
    bindir = Path(sys.executable).parent
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "launch.py"),
            "--",
            str(bindir / "paywitness"),
            "run",
            "--profile",
            str(EXAMPLE / "profile.yaml"),
            "--scenarios",
            str(scenario),
            "--output",
            str(out),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "inconclusive"
    bypassed = [f for f in verdict["findings"] if f["rule_id"] == "coverage.bypassed-proxy"]
    assert len(bypassed) == 1
    assert "/v1/orders/" in bypassed[0]["message"]
    assert "order-status" in bypassed[0]["message"]
    checks = {c["id"]: c for c in verdict["categories"]["payment"]["checks"]}
    assert checks["coverage.payment-class"]["status"] == "not_observed"
    assert checks["payment.allowed-role"]["status"] == "pass"  # the rest was routed correctly
