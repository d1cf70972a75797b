"""End to end: the demo passes data separation; each data violation fails it with the right
canary kind, encoding chain and channel; no run leaves a raw canary anywhere in its folder."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_runs import COMPLIANT_FULL, DemoRuns

from paywitness.buyers import make_buyer, make_card

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs a Chromium for the demo run"
)

# violation -> (canary kind, encoding chain, location prefix) of the finding that must be there
EXPECTED = {
    "card-to-social": ("card", "base64(card)", "request.body:$.payload"),
    "email-hash-to-social": ("email", "sha256(lower(email))", "query:uid"),
    "address-over-social-websocket": ("address", "address", "ws:client->server"),
    "postmessage-leak": ("phone", "phone", "postMessage"),
    "storage-leak": ("phone", "phone", "localStorage:"),
}


def test_compliant_demo_passes_data_with_every_typed_canary_seen(demo_runs: DemoRuns) -> None:
    data = demo_runs.get(*COMPLIANT_FULL).verdict()["categories"]["data"]
    assert data["status"] == "pass", data
    received = data["observed"]["received_by"]
    assert received["card"] == ["gateway"]
    for kind in ("name", "email", "phone", "address"):
        assert set(received[kind]) <= {"commerce", "gateway"}, (kind, received)


@pytest.mark.parametrize("violation", sorted(EXPECTED))
def test_violation_fails_data_with_kind_and_chain(demo_runs: DemoRuns, violation: str) -> None:
    verdict = demo_runs.matrix(violation).verdict()  # the detection matrix's run of it
    assert verdict["categories"]["data"]["status"] == "fail"
    kind, chain, where = EXPECTED[violation]
    leaks = [
        ev
        for f in verdict["findings"]
        if f["rule_id"] == "data.canary-leak"
        for ev in f["evidence"]
    ]
    assert any(
        ev["canary"] == kind
        and ev["chain"] == chain
        and ev["location"].startswith(where)
        and ev["role"] == "social"
        for ev in leaks
    ), json.dumps(leaks, indent=1)


def _blobs(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        rel = str(path.relative_to(root))
        yield rel, data
        if zipfile.is_zipfile(io.BytesIO(data)):  # traces and their Allure copies
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    yield f"{rel}!{member}", z.read(member)


def test_no_raw_canary_anywhere_in_any_run_folder(demo_runs: DemoRuns) -> None:
    runs = {"compliant": demo_runs.get(*COMPLIANT_FULL)}
    runs.update({v: demo_runs.matrix(v) for v in sorted(EXPECTED)})
    for name, run in runs.items():
        out = run.output
        planted = [json.loads(line) for line in (out / "canaries.jsonl").read_text().splitlines()]
        salt = bytes.fromhex(planted[0]["salt"])
        hashes = {c["hash"] for p in planted for c in p["canaries"]}
        raw: list[str] = []
        for test in run.verdict()["meta"]["scenarios"]:
            seed = run.scenario_seed(test)
            buyer, card = make_buyer(seed), make_card(seed, "success")
            values = [buyer.name, buyer.email, buyer.phone, buyer.street_address]
            # The recomputed values are the ones the run planted (its salted hashes say so).
            for value in values:
                assert hashlib.sha256(salt + value.encode()).hexdigest() in hashes, (name, test)
            raw += [*values, buyer.phone.replace(" ", ""), card.number]
            raw.append(" ".join(card.number[i : i + 4] for i in (0, 4, 8, 12)))
        for rel, data in _blobs(out):
            for value in raw:
                assert value.encode() not in data, f"{name}: a raw canary is in {rel}"


def test_advanced_matching_pixel_fails_data_naming_each_field(demo_runs: DemoRuns) -> None:
    """Given and family name, each SHA-256-hashed in a parameter of its own: one finding each."""
    verdict = demo_runs.matrix("name-fields-hash-to-social").verdict()
    assert verdict["categories"]["data"]["status"] == "fail"
    leaks = [
        ev
        for f in verdict["findings"]
        if f["rule_id"] == "data.canary-leak"
        for ev in f["evidence"]
    ]
    for kind, where in (("given_name", "query:fn"), ("family_name", "query:ln")):
        assert any(
            ev["canary"] == kind
            and ev["chain"] == f"sha256(lower({kind}))"
            and ev["location"] == where
            and ev["role"] == "social"
            for ev in leaks
        ), (kind, json.dumps(leaks, indent=1))
