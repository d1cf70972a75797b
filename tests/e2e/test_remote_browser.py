"""A remote browser (Playwright browser server) buys through our proxy and gets the same verdict."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_runs import unjudged_only_for_want_of_a_baseline

from paywitness.browser import find_chromium


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[str]:
    config: dict[str, object] = {"host": "127.0.0.1", "port": 0, "wsPath": "paywitness"}
    path = find_chromium()
    if path is not None:
        config["executablePath"] = str(path)
    cfg = tmp_path / "server.json"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "playwright", "launch-server", "--browser", "chromium",
         "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group: the node server and its browser too
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"ws://\S+", line)
        assert m, f"the browser server did not start: {line!r}"
        yield m.group(0)
    finally:
        # `python -m playwright` runs a node child that would outlive a plain terminate().
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_remote_browser_pays_through_the_proxy(browser_server: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--method", "card",
         "-k", "paid_in_commerce", "--output", str(out),
         f"--paywitness-connect={browser_server}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text())
    assert r.returncode == 3, r.stdout[-3000:] + r.stderr  # the routing scenario has no baseline
    assert unjudged_only_for_want_of_a_baseline(verdict), r.stdout[-3000:]
    assert verdict["categories"]["payment"]["status"] == "pass"
    assert verdict["categories"]["payment"]["observed"]["payment_flows_by_role"] == {
        "commerce": 3,
        "gateway": 1,
    }
