"""The artefact watch addon, unit-tested without a live proxy (mitmproxy's taddons)."""

from __future__ import annotations

import base64
import json

from builders import http_flow
from mitmproxy.test import taddons

from paywitness.artefacts import harvest_json
from paywitness.classify import Classifier
from paywitness.ledger import read_ledger
from paywitness.profile import ArtefactPolicy, demo_profile_path, load_profile
from proxy_addons.artefact_watch import EXTRA_KEY, ArtefactWatch
from proxy_addons.backend_recorder import BackendRecorder

CHARGE = "ch_5f1c0ffee0ddba11"


def _flow(host: str, path: str, method: str = "POST", body: bytes = b"", answer: object = None):
    f = http_flow(host, path, method)
    f.request.content = body
    f.response.headers["content-type"] = "application/json"
    f.response.content = json.dumps(answer if answer is not None else {}).encode()
    return f


def test_harvest_finds_profile_fields_and_default_names():
    policy = load_profile(demo_profile_path()).payment.artefacts
    found = harvest_json(
        {"id": CHARGE, "order_id": "ORD-77AB12", "status": "succeeded", "amount": 5},
        policy,
        endpoint="charge",
    )
    by_name = {m.name: m for m in found}
    assert by_name["charge-id"].value == CHARGE
    assert by_name["charge-id"].source == "payment.artefacts.fields[0]"
    assert by_name["order-id"].path == "$.order_id"
    assert "amount" not in {m.path.rsplit(".", 1)[-1] for m in found}  # not an artefact
    nested = harvest_json(
        {"data": {"payment": {"idempotencyKey": "k-123456789"}}}, ArtefactPolicy(), endpoint=None
    )
    assert [(m.name, m.path) for m in nested] == [
        ("idempotency-key", "$.data.payment.idempotencyKey")
    ]
    assert harvest_json({"order_id": "7"}, ArtefactPolicy()) == []  # too short to mean one payment


def test_charge_id_minted_by_the_gateway_is_found_on_its_way_to_social(tmp_path):
    profile = load_profile(demo_profile_path())
    watch = ArtefactWatch(Classifier(profile))
    rec = BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(watch, rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        charge = _flow("pay.gateway.test", "/v1/charges", answer={"id": CHARGE, "status": "ok"})
        for f in (charge,):
            watch.request(f)
            rec.requestheaders(f)
            watch.response(f)
            rec.response(f)
        # The relay: base64 inside a JSON field of an analytics-looking request to social.
        wrapped = base64.b64encode(json.dumps({"c": CHARGE}).encode()).decode()
        relay = _flow("api.social.test", "/v1/activity", body=json.dumps({"p": wrapped}).encode())
        watch.request(relay)
        rec.requestheaders(relay)
        watch.response(relay)
        rec.response(relay)
        rec.done()
    assert charge.metadata[EXTRA_KEY]["artefacts_minted"][0]["name"] == "charge-id"
    records = [r for r in read_ledger(ledger) if r.kind == "http"]
    minted, relayed = records
    assert minted.extra["artefacts_minted"][0]["hash"] == relayed.extra["artefact_hits"][0]["hash"]
    hit = relayed.extra["artefact_hits"][0]
    assert hit["name"] == "charge-id"
    assert hit["minted_by"] == "gateway"
    assert hit["location"] == "request.body:$.p:$.c"  # decoded: JSON > base64 > JSON
    assert CHARGE not in ledger.read_text()  # only salted hashes are written


def test_answers_of_roles_not_allowed_mint_nothing():
    profile = load_profile(demo_profile_path())
    watch = ArtefactWatch(Classifier(profile))
    with taddons.context(watch):
        f = _flow("api.social.test", "/api/me/orders", answer={"order_id": "ORD-SOCIAL1"})
        watch.response(f)
    assert EXTRA_KEY not in f.metadata
    assert watch.harvested == 0


def test_standalone_options_load_the_profile():
    watch = ArtefactWatch()
    with taddons.context(watch) as tctx:
        tctx.configure(watch, paywitness_profile=str(demo_profile_path()))
        assert watch.classifier is not None
