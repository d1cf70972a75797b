"""Canary scanner throughput over a synthetic ledger, against a naive per-variant ``in`` loop.

Run: ``python benchmarks/canary_scan.py [--flows 10000] [--buyers 4] [--runs 3]``.
Prints MB/s and flows/s (median of ``--runs``) for
  * raw:   the scanner's single multi-pattern pass over the wire bytes (``decode=False``),
  * full:  the same plus every decoding layer (compression, JSON, form, query, cookies, ...),
  * naive: ``variant in haystack`` for every variant of the pool (on a sample of flows, since
           it is orders of magnitude slower), and the speed-up ratios measured in this run.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from paywitness.buyers import make_buyer, make_card
from paywitness.canaries import Canary, CanaryScanner, CanarySet
from paywitness.canaries.values import HASHED_ONLY_KINDS

WORDS = (
    "produk baju kaos batik sepatu tas promo diskon gratis ongkir toko resmi keranjang beli "
    "sekarang ulasan bintang lima pengiriman cepat garansi original murah meriah koleksi terbaru "
    "wanita pria anak muslim fashion elektronik rumah tangga kecantikan kesehatan olahraga"
).split()


@dataclass(slots=True)
class Flow:
    url: str
    cookie: str
    request_body: bytes
    request_type: str
    response_body: bytes
    response_type: str
    response_encoding: str | None
    planted: bool = False

    @property
    def size(self) -> int:
        return len(self.url) + len(self.cookie) + len(self.request_body) + len(self.response_body)


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n))


def _html(rng: random.Random, size: int) -> bytes:
    parts = ['<!doctype html><html><head><meta charset="utf-8"><title>Toko</title></head><body>']
    total = 0
    while total < size:
        token = base64.b64encode(rng.randbytes(rng.randrange(12, 48))).decode()
        chunk = (
            f'<div class="card p-{rng.randrange(9)}" data-id="{rng.getrandbits(64):x}">'
            f"<h3>{_text(rng, 4)}</h3><p>{_text(rng, rng.randrange(8, 40))}</p>"
            f'<a href="/p/{rng.getrandbits(40):x}?ref=home&amp;t={token}">'
            f"Rp {rng.randrange(10**6)}</a>"
            "</div>"
        )
        parts.append(chunk)
        total += len(chunk)
    parts.append("</body></html>")
    return "".join(parts).encode()


def _json(rng: random.Random, size: int) -> bytes:
    items = []
    total = 0
    while total < size:
        item = {
            "id": rng.getrandbits(48),
            "sku": f"SKU-{rng.getrandbits(32):08X}",
            "title": _text(rng, rng.randrange(3, 10)),
            "price": rng.randrange(1000, 10**7),
            "img": f"https://cdn.social.example/i/{hashlib.md5(rng.randbytes(8)).hexdigest()}.jpg",
            "tags": rng.sample(WORDS, 3),
            "trace": base64.b64encode(rng.randbytes(24)).decode(),
        }
        items.append(item)
        total += 260
    return json.dumps({"data": {"items": items}, "ok": True}).encode()


def _form(rng: random.Random, size: int) -> bytes:
    pairs = []
    total = 0
    while total < size:
        pair = f"f{rng.randrange(999)}={quote(_text(rng, rng.randrange(1, 6)))}"
        pairs.append(pair)
        total += len(pair) + 1
    return "&".join(pairs).encode()


def _plant(rng: random.Random, buyer_sets: Sequence[CanarySet]) -> tuple[str, bytes]:
    """One leak in one of several encodings: (where, payload)."""
    # Common fields (city, postcode) are searched only hashed: planting them raw proves nothing.
    plain = [c for c in rng.choice(buyer_sets).canaries if c.kind not in HASHED_ONLY_KINDS]
    canary: Canary = rng.choice(plain)
    value = canary.value
    choice = rng.randrange(5)
    if choice == 0:
        return "url", hashlib.sha256(value.lower().encode()).hexdigest().encode()
    if choice == 1:
        return "body", json.dumps({"ev": base64.b64encode(value.encode()).decode()}).encode()
    if choice == 2:
        return "body", json.dumps({"buyer": value}).encode()
    if choice == 3:
        return "cookie", quote(value, safe="").encode()
    return "body", value.encode()


def build_ledger(n_flows: int, buyer_sets: Sequence[CanarySet], seed: int = 1) -> list[Flow]:
    rng = random.Random(seed)
    flows: list[Flow] = []
    for i in range(n_flows):
        kind = rng.choices(("json", "html", "form"), weights=(5, 3, 2))[0]
        size = int(rng.uniform(500, 20_000))
        maker: Callable[[random.Random, int], bytes] = {
            "json": _json,
            "html": _html,
            "form": _form,
        }[kind]
        ctype = {
            "json": "application/json",
            "html": "text/html; charset=utf-8",
            "form": "application/x-www-form-urlencoded",
        }[kind]
        url = (
            f"https://api.shop.example/v1/{rng.choice(WORDS)}/{rng.getrandbits(32)}"
            f"?page={rng.randrange(40)}&sid={rng.getrandbits(64):x}"
        )
        cookie = (
            f"sid={rng.getrandbits(128):x}; _ga=GA1.2.{rng.getrandbits(30)}.{rng.getrandbits(30)}"
        )
        req = _form(rng, rng.randrange(60, 600)) if rng.random() < 0.3 else b""
        body = maker(rng, size)
        if i % 97 == 13:  # ~1% of flows carry a planted leak
            where, payload = _plant(rng, buyer_sets)
            if where == "url":
                url += "&uid=" + payload.decode()
            elif where == "cookie":
                cookie += "; em=" + payload.decode()
            elif kind == "json":
                body = body[:-1] + b', "x": ' + json.dumps(payload.decode()).encode() + b"}"
            else:
                body = body + b" " + payload
        encoding = None
        if rng.random() < 0.25:
            body = gzip.compress(body, compresslevel=5)
            encoding = "gzip"
        flows.append(
            Flow(
                url,
                cookie,
                req,
                "application/x-www-form-urlencoded",
                body,
                ctype,
                encoding,
                planted=i % 97 == 13,
            )
        )
    return flows


def scan_flow(scanner: CanaryScanner, f: Flow, decode: bool) -> int:
    hits = len(scanner.scan(f.url, "url", decode=decode))
    hits += len(scanner.scan(f.cookie, "header:cookie", decode=decode))
    if f.request_body:
        hits += len(
            scanner.scan(f.request_body, "request.body", content_type=f.request_type, decode=decode)
        )
    hits += len(
        scanner.scan(
            f.response_body,
            "response.body",
            content_type=f.response_type,
            content_encoding=f.response_encoding,
            decode=decode,
        )
    )
    return hits


def scan_flows(scanner: CanaryScanner, flows: Sequence[Flow], decode: bool) -> int:
    return sum(scan_flow(scanner, f, decode) for f in flows)


def naive_flows(patterns: Sequence[bytes], flows: Sequence[Flow]) -> int:
    hits = 0
    for f in flows:
        for hay in (f.url.encode(), f.cookie.encode(), f.request_body, f.response_body):
            low = hay.lower()
            for p in patterns:
                if p in low:
                    hits += 1
    return hits


def timed(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    # CPU time of this process: the figure is per core even when the machine is shared.
    times = []
    result = 0
    for _ in range(runs):
        t0 = time.process_time()
        result = fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--buyers", type=int, default=4, help="Buyers (6 canaries each)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--naive-flows", type=int, default=40, help="Flows sampled for the naive loop")
    ap.add_argument(
        "--decode-flows", type=int, default=3000, help="Flows sampled for the decoding layers"
    )
    args = ap.parse_args(argv)

    salt = b"benchmark-salt"
    sets = [
        CanarySet.from_buyer(make_buyer(s), make_card(s), salt=salt) for s in range(args.buyers)
    ]
    canary_set = CanarySet(tuple(c for s in sets for c in s.canaries), salt)
    t0 = time.perf_counter()
    scanner = CanaryScanner(canary_set)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    CanaryScanner(CanarySet(canary_set.canaries, salt, seed=1))  # as the proxy's canary watch
    rebuild_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    flows = build_ledger(args.flows, sets)
    gen_s = time.perf_counter() - t0
    total = sum(f.size for f in flows)
    mb = total / 1e6
    print(
        f"canaries: {len(canary_set.canaries)}   variants: {len(scanner.variants)}   "
        f"automaton keys: {scanner.pattern_count}   build: {build_s:.2f} s, "
        f"again for the same canaries: {rebuild_s * 1000:.2f} ms"
    )
    print(
        f"ledger: {len(flows)} flows, {mb:.1f} MB on the wire "
        f"({sum(f.response_encoding is not None for f in flows)} gzip bodies), "
        f"generated in {gen_s:.1f} s"
    )

    raw_s, raw_hits = timed(lambda: scan_flows(scanner, flows, decode=False), args.runs)
    decode_sample = flows[: args.decode_flows]
    decode_mb = sum(f.size for f in decode_sample) / 1e6
    full_s, full_hits = timed(lambda: scan_flows(scanner, decode_sample, decode=True), args.runs)
    decode_raw_s, _ = timed(lambda: scan_flows(scanner, decode_sample, decode=False), args.runs)
    sample = flows[: args.naive_flows]
    sample_mb = sum(f.size for f in sample) / 1e6
    patterns = [v.pattern.encode().lower() for v in scanner.variants]
    naive_s, _ = timed(lambda: naive_flows(patterns, sample), args.runs)
    sample_raw_s, _ = timed(lambda: scan_flows(scanner, sample, decode=False), args.runs)

    def line(name: str, seconds: float, size_mb: float, n: int, hits: int | None) -> None:
        extra = "" if hits is None else f"   hits: {hits}"
        print(
            f"{name:<34} {size_mb / seconds:9.1f} MB/s {n / seconds:10.0f} flows/s   "
            f"({seconds:.2f} s){extra}"
        )

    print(f"median of {args.runs} runs, CPU seconds of one core:")
    line("scanner raw search (decode=False)", raw_s, mb, len(flows), raw_hits)
    line(
        f"scanner + decoding ({len(decode_sample)} flows)",
        full_s,
        decode_mb,
        len(decode_sample),
        full_hits,
    )
    line(f"naive per-variant loop ({len(sample)} flows)", naive_s, sample_mb, len(sample), None)
    line(f"scanner raw, same {len(sample)} flows", sample_raw_s, sample_mb, len(sample), None)
    naive_rate = sample_mb / naive_s
    print(
        f"ratio raw scanner / naive loop:    {mb / raw_s / naive_rate:8.0f}x "
        f"(same sample: {naive_s / sample_raw_s:.0f}x)"
    )
    print(f"ratio full scanner / naive loop:   {decode_mb / full_s / naive_rate:8.0f}x")
    found = [scan_flow(scanner, f, decode=True) > 0 for f in flows]
    planted = sum(f.planted for f in flows)
    caught = sum(hit and f.planted for hit, f in zip(found, flows, strict=True))
    stray = sum(hit and not f.planted for hit, f in zip(found, flows, strict=True))
    print(
        f"planted leaks caught (with decoding, all flows): {caught}/{planted}; "
        f"flows with hits but no planted leak: {stray}"
    )
    print(
        f"decoding layers cost: {full_s / decode_raw_s:.1f}x the raw search time "
        f"on the same {len(decode_sample)} flows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
