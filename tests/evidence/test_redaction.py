"""Nothing raw in the bundle: canaries, cards and the session cookie are masked everywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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
