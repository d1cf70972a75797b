"""flows.har: HAR 1.2 structure, one page per step, every entry on its page."""

from __future__ import annotations

import json
from pathlib import Path

from paywitness.evidence.har import HAR_ENTRIES_GLOB, validate_har


def test_har_validates_against_the_1_2_structure(bundle: Path) -> None:
    har = json.loads((bundle / "flows.har").read_text())
    assert validate_har(har) == []
    assert har["log"]["version"] == "1.2"
    assert not list(bundle.glob(HAR_ENTRIES_GLOB)), "side files are folded into flows.har"


def test_validator_catches_a_broken_har() -> None:
    broken = {"log": {"version": "1.1", "creator": {"name": "x"}, "entries": [{"time": "1"}]}}
    errors = validate_har(broken)
    assert "log.version: expected '1.2', got '1.1'" in errors
    assert "log.creator.version: required" in errors
    assert "log.entries[0].time: expected int/float" in errors
    assert "log.entries[0].request: required" in errors


def test_one_page_per_step_in_order_and_every_entry_on_its_step(bundle: Path) -> None:
    log = json.loads((bundle / "flows.har").read_text())["log"]
    assert [p["title"] for p in log["pages"]] == ["browse", "checkout", "pay", "confirm"]
    pages = {p["id"]: p["title"] for p in log["pages"]}
    assert len(log["entries"]) == 6
    for e in log["entries"]:
        assert pages[e["pageref"]] == e["_paywitness"]["step"]
        assert e["serverIPAddress"] == "127.0.0.1"
        assert e["timings"]["wait"] >= 0
    by_step = {}
    for e in log["entries"]:
        by_step.setdefault(pages[e["pageref"]], []).append(e["request"]["url"])
    assert by_step["pay"] == [
        "https://api.commerce.test/api/orders",
        "https://api.commerce.test/api/orders/7/pay",
        "https://pay.gateway.test/v1/charges",
    ]


def test_captured_entries_keep_headers_masked_and_the_ledger_url(bundle: Path) -> None:
    log = json.loads((bundle / "flows.har").read_text())["log"]
    order = next(e for e in log["entries"] if e["_paywitness"]["id"] == "main-20")
    assert order["request"]["url"] == "https://api.commerce.test/api/orders"  # not the mapped port
    assert order["response"]["status"] == 201
    cookie = order["request"]["headers"][0]["value"]
    assert cookie.startswith("[masked:")
    assert "[canary:email:" in order["request"]["postData"]["text"]
    assert "[canary:card:" in order["request"]["postData"]["text"]
    assert order["_paywitness"]["role"] == "commerce"
    assert order["_paywitness"]["payment_class"] == "create-order"
