"""Nothing raw in the bundle: canaries, cards and the session cookie are masked everywhere."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from paywitness.canaries import Canary
from paywitness.evidence.manifest import bundle_files
from paywitness.evidence.redaction import CANARIES_FILE, Redactor

from .conftest import CARD, EMAIL, SESSION


def test_no_raw_canary_or_cookie_value_anywhere_in_the_bundle(bundle: Path) -> None:
    raw = [EMAIL, CARD, "4111 1111 1111 1111", SESSION]
    for rel in bundle_files(bundle):
        data = (bundle / rel).read_bytes()
        for value in raw:
            assert value.encode() not in data, f"{value!r} in {rel}"


def test_a_masked_canary_can_still_be_proven_with_the_salt_in_the_bundle(bundle: Path) -> None:
    line = json.loads((bundle / CANARIES_FILE).read_text().splitlines()[0])
    salt = bytes.fromhex(line["salt"])
    proof = hashlib.sha256(salt + EMAIL.encode()).hexdigest()
    assert {"kind": "email", "hash": proof} in line["canaries"]
    assert f"[canary:email:{proof[:8]}]" in (bundle / "flows.har").read_text()


def test_secrets_are_masked_the_same_way_each_time() -> None:
    r = Redactor(salt=b"s")
    r.add_canaries([Canary("phone", "081234567890")])
    text = (
        'Authorization: Bearer abcdef0123456789 {"session_token": "zzz-111"} '
        "card=4111-1111-1111-1111&otp=123456 call 081234567890"
    )
    out = r.text(text)
    for secret in ("abcdef0123456789", "zzz-111", "4111-1111-1111-1111", "123456", "081234567890"):
        assert secret not in out
    assert r.text(text) == out
    assert r.header("Cookie", "sid=1") == r.header("cookie", "sid=1") != "sid=1"
    assert r.header("Accept", "text/html") == "text/html"


def test_canaries_added_test_by_test_are_all_masked_with_few_scanners() -> None:
    """A run adds canaries a few at a time; every one stays masked, in few automaton passes."""
    from paywitness.buyers import make_buyer
    from paywitness.canaries import CanarySet

    r = Redactor(salt=b"s")
    buyers = [make_buyer(seed) for seed in range(40)]
    for b in buyers:
        r.add_canaries(CanarySet.from_buyer(b).canaries)
        r.add_canaries([Canary("email", b.email)])  # already known: adds nothing
    # Distinct values: buyers may share a city or a region (searched only hashed).
    distinct = {c for b in buyers for c in CanarySet.from_buyer(b).canaries}
    assert len(r.canary_set().canaries) == len(distinct)
    assert len(r._scanners) <= 6  # batches of 5 canaries: at most log2(200 / 5) + 1 levels
    text = " | ".join(f"{b.name} <{b.email}> {b.phone}" for b in buyers)
    out = r.text(text)
    for b in buyers:
        for value in (b.name, b.email, b.phone):
            assert value not in out
    assert out.count("[canary:email:") == 40


def _field_by_field(r: Redactor, entry: dict[str, Any]) -> dict[str, Any]:
    """A HAR entry masked one field at a time with the public primitives (the reference)."""
    for side in ("request", "response"):
        msg = entry.get(side) or {}
        for h in msg.get("headers", []):
            h["value"] = r.header(h["name"], str(h["value"]))
        for c in msg.get("cookies", []):
            c["value"] = r.mask(str(c["value"]))
        for q in msg.get("queryString", []):
            q["value"] = r.param(q["name"], str(q["value"]))
    req = entry["request"]
    req["url"] = r.url(req["url"])
    post = req.get("postData")
    if post:
        post["text"] = r.text(post.get("text") or "")
        for p in post.get("params", []):
            p["value"] = r.param(p["name"], str(p["value"]))
    resp = entry["response"]
    if resp.get("redirectURL"):
        resp["redirectURL"] = r.url(resp["redirectURL"])
    if resp["content"].get("text"):
        resp["content"]["text"] = r.text(resp["content"]["text"])
    for msg in entry.get("_webSocketMessages", []):
        msg["data"] = r.text(msg["data"])
    return entry


def test_a_har_entry_masked_in_one_pass_equals_masking_it_field_by_field() -> None:
    rng = random.Random(5)
    r = Redactor(salt=b"s")
    for n in range(3):  # several scanners, as a run with several tests has
        r.add_canaries([Canary("email", f"buyer{n}@mail.example"), Canary("name", f"Ana Putri{n}")])
    pieces = [
        "", "text/html", "buyer1@mail.example", "BUYER2@MAIL.EXAMPLE", "Ana Putri0",
        "4111 1111 1111 1111", "Bearer abcdef0123456789xyz", "token=s3cr3t-value&x=1",
        '{"session_token": "zzz-111", "name": "Ana Putri1"}', "ünïcode \u2013 Ana Putri2 \u2713",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl", "a=b; c=d",
        "buyer0%40mail.example", "https://shop.example/p?email=buyer0@mail.example&sid=abc",
        '{"auth_token": "half', 'rest of it" }', "session=abc", "def&x=1", "Bearer", "Ana",
        "Putri0 tail", "4111 1111", "1111 1111",  # halves that must not join across texts
    ]  # fmt: skip

    def some() -> str:
        return " ".join(rng.choice(pieces) for _ in range(rng.randrange(0, 3)))

    for _ in range(300):
        entry = {
            "request": {
                "url": f"https://shop.example/x?q={some()}",
                "headers": [{"name": rng.choice(["X-A", "Cookie", "Authorization", "Referer"]),
                             "value": some()} for _ in range(rng.randrange(0, 6))],
                "cookies": [{"name": "sid", "value": some() or "v"}],
                "queryString": [{"name": rng.choice(["q", "token", "email"]), "value": some()}],
                "postData": {"text": some(), "params": [{"name": "otp", "value": some()}]},
            },
            "response": {
                "headers": [{"name": "Content-Type", "value": some()}],
                "redirectURL": rng.choice(["", f"https://x.example/{some()}"]),
                "content": {"text": some()},
            },
            "_webSocketMessages": [{"data": some()}],
        }  # fmt: skip
        assert r.har_entry(copy.deepcopy(entry)) == _field_by_field(r, copy.deepcopy(entry))
