"""End to end: the demo passes data separation; each data violation fails it with the right
canary kind, encoding chain and channel; no run leaves a raw canary anywhere in its folder."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paywitness.buyers import make_buyer, make_card

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs a Chromium for the demo run"
)

SEED = 3
COMPLIANT = "compliant"
VIOLATING = "all-data-violations"  # one run with every data violation: each has its own channel
# violation -> (canary kind, encoding chain, location prefix) of the finding that must be there
EXPECTED = {
    "card-to-social": ("card", "base64(card)", "request.body:$.payload"),
    "email-hash-to-social": ("email", "sha256(lower(email))", "query:uid"),
    "address-over-social-websocket": ("address", "address", "ws:client->server"),
    "postmessage-leak": ("phone", "phone", "postMessage"),
    "storage-leak": ("phone", "phone", "localStorage:"),
}


# An advanced-matching pixel: each name field hashed on its own, each a finding of its own.
SPLIT_FIELDS = "name-fields-hash-to-social"


def _run(name: str, root: Path) -> Path:
    out = root / name
    cmd = [sys.executable, "-m", "paywitness.cli", "demo", "--output", str(out)]
    cmd += ["--seed", str(SEED), "--method", "card", "-q", "-p", "no:warnings"]
    if name == VIOLATING:
        for violation in [*EXPECTED, SPLIT_FIELDS]:
            cmd += ["--violation", violation]
    subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("data-demo")
    names = [COMPLIANT, VIOLATING]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield dict(zip(names, pool.map(lambda n: _run(n, root), names), strict=True))


def _verdict(out: Path) -> dict:
    path = out / "verdict.json"
    assert path.is_file(), f"no verdict in {out}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_compliant_demo_passes_data_with_every_typed_canary_seen(runs: dict[str, Path]) -> None:
    data = _verdict(runs[COMPLIANT])["categories"]["data"]
    assert data["status"] == "pass", data
    received = data["observed"]["received_by"]
    assert received["card"] == ["gateway"]
    for kind in ("name", "email", "phone", "address"):
        assert set(received[kind]) <= {"commerce", "gateway"}, (kind, received)


@pytest.mark.parametrize("violation", sorted(EXPECTED))
def test_violation_fails_data_with_kind_and_chain(runs: dict[str, Path], violation: str) -> None:
    verdict = _verdict(runs[VIOLATING])
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


def test_advanced_matching_pixel_fails_data_naming_each_field(runs: dict[str, Path]) -> None:
    leaks = [
        ev
        for f in _verdict(runs[VIOLATING])["findings"]
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


def test_no_raw_canary_anywhere_in_any_run_folder(runs: dict[str, Path]) -> None:
    for name, out in runs.items():
        planted = [json.loads(line) for line in (out / "canaries.jsonl").read_text().splitlines()]
        salt = bytes.fromhex(planted[0]["salt"])
        hashes = {c["hash"] for p in planted for c in p["canaries"]}
        raw: list[str] = []
        for test in _verdict(out)["meta"]["scenarios"]:
            seed = (SEED * 1_000_003 + zlib.crc32(test.encode())) % 2**31
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
