"""Who sent each leak: every data violation's finding names the frame and script that sent it.

Read from the detection matrix's runs (the session's demo-run cache): no demo run of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from demo_runs import DemoRuns

from paywitness.demo.violations import CATALOG

DATA_VIOLATIONS = sorted(name for name, v in CATALOG.items() if v.category == "data")
# Words each kind of sender is named with (attribution.describe_initiator / channel senders).
NAMED = (
    "sent by `",
    "loaded by the HTML parser of `",
    "posted by a frame on https://",
    "written by `",
)
# ... and the frame: the top one, or an embedded one by its URL.
FRAMES = (" in the top frame", " in frame https://", " to the top frame", " to frame https://")


def _leaks(demo_runs: DemoRuns, violation: str) -> list[dict[str, Any]]:
    run = demo_runs.matrix(violation)
    findings = [f for f in run.verdict()["findings"] if f["rule_id"] == "data.canary-leak"]
    assert findings, f"{violation}: no data.canary-leak finding\n{run.tail}"
    return findings


@pytest.mark.parametrize("violation", DATA_VIOLATIONS)
def test_each_data_violation_names_who_sent_it(demo_runs: DemoRuns, violation: str) -> None:
    findings = _leaks(demo_runs, violation)
    named = [
        f
        for f in findings
        if any(words in f["message"] for words in NAMED)
        and any(frame in f["message"] for frame in FRAMES)
    ]
    assert named, f"{violation}: no finding names its sender: {[f['message'] for f in findings]}"


def test_a_leak_sent_by_a_script_in_the_top_frame(demo_runs: DemoRuns) -> None:
    """storage-leak: the storefront's own script (top frame) posts the order to social's API,
    whose answer carries the buyer's phone; the storefront then keeps it in localStorage."""
    findings = _leaks(demo_runs, "storage-leak")
    sent = [f for f in findings if f["evidence"][0]["kind"] == "http"]
    assert sent
    for f in sent:
        ev = f["evidence"][0]
        assert ev["url"] == "https://api.social.test/api/me/orders"
        initiator = ev["initiator"]
        assert initiator["type"] == "script"
        assert initiator["frame"]["top"] is True
        assert initiator["frame"]["origin"] == "https://shop.social.test"
        script = initiator["script"]
        assert script["url"] == "https://shop.social.test/"  # the storefront's inline script
        assert script["line"] > 1
        assert script["column"] > 0
        assert f"sent by `https://shop.social.test/:{script['line']}:" in f["message"]
        assert f["message"].endswith(" in the top frame")
    stored = [f for f in findings if f["evidence"][0]["method"] == "localStorage"]
    assert stored
    for f in stored:
        assert "localStorage:ramai.contact written by `https://shop.social.test/:" in f["message"]
        assert "in the top frame" in f["message"]


def test_a_leak_sent_from_the_card_iframe(demo_runs: DemoRuns) -> None:
    """card-to-social: the gateway's card frame (an out-of-process iframe inside the checkout
    iframe) beacons the card number to social."""
    findings = _leaks(demo_runs, "card-to-social")
    sent = [f for f in findings if f["evidence"][0]["kind"] == "http"]
    assert sent
    for f in sent:
        ev = f["evidence"][0]
        assert ev["url"] == "https://events.social.test/e"
        initiator = ev["initiator"]
        assert initiator["type"] == "script"
        assert initiator["resource_type"] == "Ping"  # navigator.sendBeacon
        frame = initiator["frame"]
        assert frame["top"] is False
        assert frame["origin"] == "https://pay.gateway.test"
        assert frame["url"].startswith("https://pay.gateway.test/fields?")
        script = initiator["script"]
        assert script["url"] == frame["url"]  # the card frame's own inline script
        assert script["line"] > 1
        assert f"sent by `{script['url']}:{script['line']}:" in f["message"]
        assert f["message"].endswith(f" in frame {frame['url']}")
