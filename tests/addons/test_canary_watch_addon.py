"""The canary watch addon without a live proxy (mitmproxy's taddons and tflow)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import pytest
from builders import http_flow
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow

from paywitness.buyers import Buyer, TestCard, make_buyer, make_card
from paywitness.canaries import CanarySet
from paywitness.canary_file import write_canary_file
from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.canary_watch import HITS_KEY, CanaryWatch


@pytest.fixture
def buyer() -> Buyer:
    return make_buyer(11)


@pytest.fixture
def card() -> TestCard:
    return make_card(11, "success")


@pytest.fixture
def canaries(buyer: Buyer, card: TestCard) -> CanarySet:
    return CanarySet.from_buyer(buyer, card)


def _hits(f) -> list[dict]:
    return f.metadata.get(HITS_KEY, [])


def test_gzip_of_json_of_base64_request_body(canaries: CanarySet, card: TestCard) -> None:
    watch = CanaryWatch(canaries)
    f = http_flow("events.social.test", "/e", content=b"")
    payload = json.dumps(
        {"event": "pay", "payload": base64.b64encode(card.number.encode()).decode()}
    )
    f.request.headers["content-encoding"] = "gzip"
    f.request.headers["content-type"] = "application/json"
    f.request.raw_content = gzip.compress(payload.encode())
    watch.request(f)
    (hit,) = [h for h in _hits(f) if h["kind"] == "card"]
    assert hit["location"] == "request.body:$.payload"
    assert hit["encoding"] in ("gzip(base64(card))", "gzip(card)", "base64(card)")
    assert "gzip" in hit["decoding"]
    assert card.number not in json.dumps(_hits(f))


def test_hashed_email_in_query_cookie_referer_and_custom_header(
    canaries: CanarySet, buyer: Buyer
) -> None:
    watch = CanaryWatch(canaries)
    digest = hashlib.sha256(buyer.email.lower().encode()).hexdigest()
    f = http_flow("events.social.test", f"/px?ev=Purchase&uid={digest}", "GET", content=b"")
    f.request.headers["cookie"] = f"sid=abc; em={buyer.email}"
    f.request.headers["referer"] = f"https://checkout.commerce.test/?phone={buyer.phone}"
    f.request.headers["x-buyer-name"] = buyer.name
    watch.request(f)
    found = {(h["kind"], h["location"]) for h in _hits(f)}
    assert ("email", "query:uid") in found
    assert ("email", "cookie:em") in found
    assert any(k == "phone" and loc.startswith("header:referer") for k, loc in found)
    assert ("name", "header:x-buyer-name") in found
    chains = {h["chain"] for h in _hits(f) if h["location"] == "query:uid"}
    assert "sha256(lower(email))" in chains


def test_response_set_cookie_and_echoing_body(canaries: CanarySet, buyer: Buyer) -> None:
    watch = CanaryWatch(canaries)
    f = http_flow("api.social.test", "/api/me", "GET", content=b"")
    f.response.headers["set-cookie"] = f"contact={buyer.phone.replace(' ', '')}; Path=/"
    f.response.headers["content-type"] = "application/json"
    f.response.content = json.dumps({"ship_to": buyer.street_address}).encode()
    watch.response(f)
    found = {(h["kind"], h["location"]) for h in _hits(f)}
    assert ("phone", "set-cookie:contact") in found
    assert ("address", "response.body:$.ship_to") in found


def test_images_are_not_scanned_and_no_canaries_means_no_work(
    canaries: CanarySet, buyer: Buyer
) -> None:
    watch = CanaryWatch(canaries)
    f = http_flow("shop.social.test", "/logo.png", "GET", content=b"")
    f.response.headers["content-type"] = "image/png"
    f.response.content = buyer.email.encode()
    watch.response(f)
    assert _hits(f) == []
    watch.set_canaries(None)
    g = http_flow("events.social.test", f"/px?e={buyer.email}", "GET", content=b"")
    watch.request(g)
    assert _hits(g) == []
    assert watch.canaries is None


def test_websocket_messages_both_ways_reach_the_ledger(
    tmp_path: Path, canaries: CanarySet, buyer: Buyer
) -> None:
    watch, rec = CanaryWatch(canaries), BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(watch, rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        f = tflow.twebsocketflow()
        f.request.host = "chat.social.test"
        f.request.headers["host"] = "chat.social.test"
        for from_client, text in ((True, buyer.street_address), (False, buyer.name)):
            f.websocket.messages.append(
                tflow.websocket.WebSocketMessage(1, from_client, json.dumps({"t": text}).encode())
            )
            watch.websocket_message(f)
            rec.websocket_message(f)
        rec.done()
    records = [r for r in read_ledger(ledger) if r.kind == "websocket"]
    assert [(r.role, [(h["kind"], h["location"]) for h in r.canary_hits]) for r in records] == [
        ("social", [("address", "ws:client->server:$.t")]),
        ("social", [("name", "ws:server->client:$.t")]),
    ]
    assert buyer.street_address not in ledger.read_text()


def test_http_record_carries_the_hits(tmp_path: Path, canaries: CanarySet, buyer: Buyer) -> None:
    watch, rec = CanaryWatch(canaries), BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(watch, rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        f = http_flow("events.social.test", "/e", content=b"")
        f.request.content = json.dumps({"e": buyer.email}).encode()
        rec.requestheaders(f)
        watch.request(f)
        watch.response(f)
        rec.response(f)
        rec.done()
    (http,) = [r for r in read_ledger(ledger) if r.kind == "http"]
    # The email also holds the order marker and parts of the name (partial matches).
    assert ("email", "request.body:$.e") in {(h["kind"], h["location"]) for h in http.canary_hits}
    assert "canary_scan_ms" in http.extra
    assert buyer.email not in ledger.read_text()


def test_standalone_option_reads_a_canary_file(
    tmp_path: Path, canaries: CanarySet, buyer: Buyer
) -> None:
    path = tmp_path / "canaries.json"
    write_canary_file(path, canaries)
    watch = CanaryWatch()
    with taddons.context(watch) as tctx:
        tctx.configure(watch, paywitness_canaries=str(path))
        assert watch.canaries is not None
        assert {c.kind for c in watch.canaries.canaries} == {c.kind for c in canaries.canaries}
        assert watch.canaries.salt == canaries.salt
        (tmp_path / "bad.json").write_text('{"canaries": [{"kind": "ssn", "value": "1"}]}')
        with pytest.raises(exceptions.OptionsError, match="unknown canary kind 'ssn'"):
            tctx.configure(watch, paywitness_canaries=str(tmp_path / "bad.json"))


def test_watch_reuses_the_redactors_scanner_for_the_tests_canaries() -> None:
    """The test's canaries are compiled once per run: the watch gets the redactor's build."""
    from paywitness.evidence.redaction import Redactor

    redactor = Redactor(salt=b"shared")
    for seed in range(5):  # earlier tests leave merged levels behind
        redactor.add_canaries(CanarySet.from_buyer(make_buyer(seed)).canaries)
    test_set = CanarySet.from_buyer(make_buyer(99), salt=redactor.salt)
    redactor.add_canaries(test_set.canaries)
    watch = CanaryWatch(test_set)
    assert watch._scanner is not None
    assert watch._scanner.variants is redactor._scanners[-1].variants
