"""Search an evidence bundle for raw planted values and cookies, in every file and encoding.

Planted values are rebuilt from the run's seed the way the fixtures make them and checked
against the salted hashes the bundle stores (so a value the rebuild misses is itself an
error). Every file is opened: zips (recursively), gzip, JSON (every decoded string), HAR
bodies in base64; each value is searched raw, lower/upper case, URL-encoded, base64 and hex.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from paywitness.buyers import load_instruments, make_buyer, make_card
from paywitness.canaries.values import HASHED_ONLY_KINDS

#: Cookie values shorter than this are settings ("1", "id"), not secrets worth a search.
MIN_COOKIE_LENGTH = 8
#: Common split fields (city, region, postcode) shorter than this are not searched: a
#: three-letter word is everywhere. Indonesian cities and provinces have 4 letters or more
#: ("Tual", "Bali"), postcodes 5 digits, so no planted value is left out in practice.
MIN_COMMON_LENGTH = 4


def test_seed(run_seed: int, test_id: str) -> int:
    """The per-test seed of paywitness_seed (pytest_fixtures.py)."""
    return (run_seed * 1_000_003 + zlib.crc32(test_id.encode())) % 2**31


test_seed.__test__ = False  # type: ignore[attr-defined]


def planted_values(bundle: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(test, kind, value) for every canary in canaries.jsonl, and the hashes not rebuilt."""
    run_seed = int(json.loads((bundle / "run.json").read_text())["seed"])
    behaviours = list(load_instruments()["cards"])
    found: list[tuple[str, str, str]] = []
    missing: list[str] = []
    for line in (bundle / "canaries.jsonl").read_text().splitlines():
        entry = json.loads(line)
        salt = bytes.fromhex(entry["salt"])
        test = entry.get("test") or ""
        seeds = {test_seed(run_seed, test)}
        if entry.get("seed") is not None:
            seeds.add(int(entry["seed"]))
        candidates: list[tuple[str, str]] = []
        for seed in seeds:
            b = make_buyer(seed)
            candidates += [
                ("name", b.name),
                ("email", b.email),
                ("phone", b.phone),
                ("address", b.street_address),
                ("marker", b.marker),
                # The split form fields are canaries of their own too (rebuilt so that every
                # planted hash is accounted for, and searched raw like the rest).
                ("given_name", b.given_name),
                ("family_name", b.family_name),
                ("address_line2", b.address_line2),
                ("city", b.city),
                ("region", b.region),
                ("postcode", b.postcode),
            ]
            candidates += [("card", make_card(seed, k).number) for k in behaviours]
        by_hash = {hashlib.sha256(salt + v.encode()).hexdigest(): (k, v) for k, v in candidates}
        for c in entry["canaries"]:
            if c["hash"] in by_hash:
                kind, value = by_hash[c["hash"]]
                found.append((test, kind, value))
            else:
                missing.append(f"{c['kind']} of {test or 'the run'} (hash {c['hash'][:12]})")
    return found, missing


def searched_values(planted: list[tuple[str, str, str]]) -> dict[str, str]:
    """value -> label for every planted value whose raw forms must never be written.

    The common split fields (city, region, postcode, second address line) are searched too:
    the scanner finds only their hashed forms, but the masking covers their raw forms as well.
    A value shorter than ``MIN_COMMON_LENGTH`` is left out (see there).
    """
    return {
        value: f"{kind} of {test.split('::')[-1]}"
        for test, kind, value in planted
        if kind not in HASHED_ONLY_KINDS or len(value.strip()) >= MIN_COMMON_LENGTH
    }


def word_bounded(planted: list[tuple[str, str, str]]) -> frozenset[str]:
    """The values found only as whole words: the common split fields.

    A postcode "40115" inside a timestamp or a city "Tual" inside "actual" is not the buyer's
    value; the masking does not mask it there either, so neither counts as a leak.
    """
    return frozenset(value for _, kind, value in planted if kind in HASHED_ONLY_KINDS)


def encodings(value: str) -> dict[str, str]:
    """form -> how it was made, for the simple encodings a leak takes."""
    forms: dict[str, str] = {}
    for case, v in (("raw", value), ("lower", value.lower()), ("upper", value.upper())):
        raw = v.encode()
        forms.setdefault(v, case)
        forms.setdefault(quote(v, safe=""), f"url({case})")
        forms.setdefault(quote_plus(v), f"url+({case})")
        forms.setdefault(base64.b64encode(raw).decode().rstrip("="), f"base64({case})")
        forms.setdefault(base64.urlsafe_b64encode(raw).decode().rstrip("="), f"b64url({case})")
        forms.setdefault(raw.hex(), f"hex({case})")
        forms.setdefault(raw.hex().upper(), f"HEX({case})")
    return forms


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _json_strings(v)


def _har_bodies(doc: Any) -> Iterator[bytes]:
    entries = doc.get("log", {}).get("entries", []) if isinstance(doc, dict) else []
    for e in entries:
        content = (e.get("response") or {}).get("content") or {}
        if content.get("encoding") == "base64" and content.get("text"):
            yield base64.b64decode(content["text"])


def _views(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Every readable view of one file: itself, what it decompresses or decodes to."""
    yield name, data
    if data[:2] == b"\x1f\x8b":
        yield from _views(name + "!gunzip", gzip.decompress(data))
        return
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for member in zf.namelist():
                yield from _views(f"{name}!{member}", zf.read(member))
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    docs = []
    try:
        docs = [json.loads(text)]
    except ValueError:
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                break
    for doc in docs:
        yield name + "!json", "\n".join(_json_strings(doc)).encode()
        for n, body in enumerate(_har_bodies(doc)):
            yield from _views(f"{name}!body{n}", body)


def bundle_views(bundle: Path) -> Iterator[tuple[str, bytes]]:
    """Every file, the manifest's seal and re-judged records included."""
    for path in sorted(bundle.rglob("*")):
        if path.is_file():
            yield from _views(path.relative_to(bundle).as_posix(), path.read_bytes())


def find_leaks(
    views: list[tuple[str, bytes]], values: dict[str, str], bounded: frozenset[str] = frozenset()
) -> list[str]:
    """`label form-how in file` for every encoded form of every value found in a view; a value
    in ``bounded`` counts only where no ASCII letter or digit touches it on either side."""
    needles: dict[bytes, tuple[str, str, bool]] = {}
    for value, label in values.items():
        for form, how in encodings(value).items():
            needles.setdefault(form.encode(), (label, how, value in bounded))
    leaks = set()
    for where, data in views:
        for needle, (label, how, whole_word) in needles.items():
            if needle not in data:
                continue
            if whole_word and not _whole_word_in(needle, data):
                continue
            leaks.add(f"{label} as {how} in {where.split('!json')[0]}")
    return sorted(leaks)


def _whole_word_in(needle: bytes, data: bytes) -> bool:
    pattern = rb"(?<![A-Za-z0-9])" + re.escape(needle) + rb"(?![A-Za-z0-9])"
    return re.search(pattern, data) is not None


def cookie_values(journal: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if journal.is_file():
        for line in journal.read_text().splitlines():
            c = json.loads(line)
            if len(c["value"]) >= MIN_COOKIE_LENGTH:
                out[c["value"]] = f"cookie {c['name']}"
    return out
