"""Canary variant pool, wire decoding and the leak scanner."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import random
import zlib
from urllib.parse import quote, quote_plus

import brotli
import pytest

from paywitness.buyers import Buyer, TestCard, make_buyer, make_card
from paywitness.canaries import (
    Canary,
    CanaryHit,
    CanaryScanner,
    CanarySet,
    build_variants,
    murmur3_32,
)

SEED = 7
SALT = b"paywitness-test-salt"


@pytest.fixture(scope="module")
def buyer() -> Buyer:
    return make_buyer(SEED)


@pytest.fixture(scope="module")
def card() -> TestCard:
    return make_card(SEED)


@pytest.fixture(scope="module")
def canary_set(buyer: Buyer, card: TestCard) -> CanarySet:
    return CanarySet.from_buyer(buyer, card, salt=SALT)


@pytest.fixture(scope="module")
def scanner(canary_set: CanarySet) -> CanaryScanner:
    return CanaryScanner(canary_set)


def kinds(hits: list[CanaryHit]) -> set[str]:
    return {h.kind for h in hits}


def only(hits: list[CanaryHit], kind: str) -> CanaryHit:
    found = [h for h in hits if h.kind == kind]
    assert len(found) == 1, [h.to_dict() for h in hits]
    return found[0]


def raw_forms(buyer: Buyer, card: TestCard) -> list[str]:
    digits = "".join(ch for ch in buyer.phone if ch.isdigit())
    values = [buyer.name, buyer.email, buyer.phone, buyer.street_address, card.number]
    return [
        *values,
        *(v.lower() for v in values),
        *(v.upper() for v in values),
        digits,
        "0" + digits[2:],
        digits[2:],
    ]


# ------------------------------------------------------------------ canaries


def test_salted_hash_is_sha256_of_salt_and_value(canary_set: CanarySet, buyer: Buyer) -> None:
    expected = hashlib.sha256(SALT + buyer.email.encode()).hexdigest()
    assert canary_set.salted_hash(buyer.email) == expected


def test_manifest_and_repr_hold_no_raw_value(
    canary_set: CanarySet, buyer: Buyer, card: TestCard
) -> None:
    text = json.dumps(canary_set.manifest()) + repr(canary_set) + repr(canary_set.canaries)
    for raw in raw_forms(buyer, card):
        assert raw not in text
    assert {c["kind"] for c in canary_set.manifest()["canaries"]} == {
        "name",
        "email",
        "phone",
        "address",
        "card",
        "marker",
        "given_name",
        "family_name",
        "address_line2",
        "city",
        "region",
        "postcode",
    }


def test_unknown_canary_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown canary kind 'ssn'"):
        Canary("ssn", "123")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "seed", "expected"),
    [
        (b"", 0, 0),
        (b"", 1, 0x514E28B7),
        (b"hello", 0, 0x248BFA47),
        (b"Hello, world!", 1234, 0xFAF6CDB3),
        (b"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723),
    ],
)
def test_murmur3_32_reference_vectors(data: bytes, seed: int, expected: int) -> None:
    assert murmur3_32(data, seed) == expected


def test_pool_chains_are_named_and_patterns_distinct(canary_set: CanarySet) -> None:
    pool = build_variants(canary_set)
    assert len(pool) > 1000
    per_canary: dict[int, set[str]] = {}
    for v in pool:
        assert v.pattern not in per_canary.setdefault(v.canary, set())
        per_canary[v.canary].add(v.pattern)
    chains = {v.chain for v in pool}
    assert "base64(sha256(lower(email)))" in chains
    assert "sha256(lower(email))" in chains
    assert "e164(phone)" in chains


# ------------------------------------------------------------------ hashes

HASHES = {
    "md5": lambda b: hashlib.md5(b).hexdigest(),
    "sha1": lambda b: hashlib.sha1(b).hexdigest(),
    "sha224": lambda b: hashlib.sha224(b).hexdigest(),
    "sha256": lambda b: hashlib.sha256(b).hexdigest(),
    "sha384": lambda b: hashlib.sha384(b).hexdigest(),
    "sha512": lambda b: hashlib.sha512(b).hexdigest(),
    "sha3_256": lambda b: hashlib.sha3_256(b).hexdigest(),
    "ripemd160": lambda b: hashlib.new("ripemd160", b).hexdigest(),
    "murmur3": lambda b: f"{murmur3_32(b):08x}",
    "crc32": lambda b: f"{zlib.crc32(b):08x}",
}


@pytest.mark.parametrize("name", sorted(HASHES))
def test_every_hash_of_the_email_in_a_pixel_url(
    scanner: CanaryScanner, buyer: Buyer, name: str
) -> None:
    token = HASHES[name](buyer.email.lower().encode())
    hits = scanner.scan(f"https://px.social.example/tr?ev=Purchase&uid={token}", "url")
    hit = only(hits, "email")
    assert hit.chain == f"{name}(lower(email))"
    assert hit.location == "query:uid"
    assert not hit.partial


@pytest.mark.parametrize("name", sorted(HASHES))
def test_uppercase_hash_hex_is_found(scanner: CanaryScanner, buyer: Buyer, name: str) -> None:
    token = HASHES[name](buyer.email.encode()).upper()
    hits = scanner.scan(f"x={token};", "request.body", decode=False)
    assert only(hits, "email").chain == f"{name}(lower(email))"


def test_hash_of_phone_in_e164(scanner: CanaryScanner, buyer: Buyer) -> None:
    digits = "".join(ch for ch in buyer.phone if ch.isdigit())
    token = hashlib.sha256(("+" + digits).encode()).hexdigest()
    hit = only(scanner.scan(json.dumps({"ph": token}), "request.body"), "phone")
    assert hit.chain == "sha256(e164(phone))"
    assert hit.location == "request.body:$.ph"


def test_short_hash_must_stand_alone(scanner: CanaryScanner, buyer: Buyer) -> None:
    token = f"{zlib.crc32(buyer.email.encode()):08x}"
    assert scanner.scan(f"id={token}&", "request.body", decode=False)
    assert not scanner.scan(f"id=ab{token}cd", "request.body", decode=False)


# ------------------------------------------------------------------ encodings

VALUE = "Jl. Melati No. 5 & 6 'Blok C' RT 001/RW 002?"
ENCODINGS = {
    "url": lambda s: quote(s, safe=""),
    "urlplus": lambda s: quote_plus(s, safe=""),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64_nopad": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "base64url_nopad": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "base32": lambda s: base64.b32encode(s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
    "html": lambda s: html.escape(s, quote=True),
    "htmldec": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "htmlhex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
}


@pytest.fixture(scope="module")
def address_scanner() -> CanaryScanner:
    return CanaryScanner(CanarySet((Canary("address", VALUE),), SALT))


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_every_encoding_is_in_the_pool(address_scanner: CanaryScanner, name: str) -> None:
    text = ENCODINGS[name](VALUE)
    same = {f"{n}(address)" for n, fn in ENCODINGS.items() if fn(VALUE) == text}
    hit = only(address_scanner.scan(f"<p>{text}</p>", "response.body", decode=False), "address")
    assert hit.chain in same


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_every_encoding_is_found_with_decoding_on(
    address_scanner: CanaryScanner, name: str
) -> None:
    text = ENCODINGS[name](VALUE)
    hits = address_scanner.scan(f"<p>{text}</p>", "response.body")
    assert kinds(hits) == {"address"}


@pytest.mark.parametrize(
    ("chain", "make"),
    [
        (
            "base64(sha256(lower(email)))",
            lambda b: base64.b64encode(hashlib.sha256(b.email.encode()).hexdigest().encode()),
        ),
        (
            "base64(sha256_bin(lower(email)))",
            lambda b: base64.b64encode(hashlib.sha256(b.email.encode()).digest()),
        ),
        (
            "base64url_nopad(sha1_bin(lower(email)))",
            lambda b: base64.urlsafe_b64encode(hashlib.sha1(b.email.encode()).digest()).rstrip(
                b"="
            ),
        ),
        (
            "sha256(md5(lower(email)))",
            lambda b: hashlib.sha256(
                hashlib.md5(b.email.encode()).hexdigest().encode()
            ).hexdigest(),
        ),
        (
            "hex(sha1(lower(email)))",
            lambda b: hashlib.sha1(b.email.encode()).hexdigest().encode().hex(),
        ),
        (
            "url(htmldec(address))",
            lambda b: quote("".join(f"&#{ord(c)};" for c in b.street_address), safe=""),
        ),
        (
            "base64(url(address))",
            lambda b: base64.b64encode(quote(b.street_address, safe="").encode()),
        ),
        ("url(url(address))", lambda b: quote(quote(b.street_address, safe=""), safe="")),
        ("hex(base64(name))", lambda b: base64.b64encode(b.name.encode()).hex()),
        ("base32(lower(name))", lambda b: base64.b32encode(b.name.lower().encode())),
    ],
)
def test_two_layer_chains(scanner: CanaryScanner, buyer: Buyer, chain: str, make: object) -> None:
    token = make(buyer)  # type: ignore[operator]
    text = token.decode() if isinstance(token, bytes) else token
    kind = chain.rsplit("(", 1)[1].rstrip(")")
    hits = scanner.scan(f"t={text}!", "header:x-track", decode=False)
    same = {chain}
    if not set(text) & set("-_"):  # without those characters base64url is plain base64
        same.add(chain.replace("base64url", "base64"))
    assert only(hits, kind).chain in same
    assert kind in kinds(scanner.scan(f"t={text}!", "header:x-track"))


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_base64_of_value_inside_longer_base64_at_any_alignment(
    scanner: CanaryScanner, card: TestCard, offset: int
) -> None:
    blob = ("z" * (10 + offset) + card.number + ",rest-of-payload").encode()
    token = base64.b64encode(blob).decode()
    hit = only(scanner.scan(f"beacon:{token[1:]}", "request.body", decode=False), "card")
    assert hit.chain.startswith("base64@")


# ------------------------------------------------------------------ decoding paths


def test_gzip_of_json_of_base64_of_the_card(scanner: CanaryScanner, card: TestCard) -> None:
    inner = base64.b64encode(json.dumps({"pan": card.number, "v": 2}).encode()).decode()
    body = gzip.compress(json.dumps({"event": "checkout", "data": inner}).encode())
    for encoding in ("gzip", None):  # by header and by magic bytes
        hit = only(scanner.scan(body, "request.body", content_encoding=encoding), "card")
        assert hit.decoding == "gzip>json:$.data>base64"
        assert hit.location == "request.body:$.data"
        assert hit.encoding == "gzip(base64(card))"
        assert hit.excerpt == '{"pan": "[canary:card:' + hit.canary_hash[:8] + ']", "v": 2}'


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compressobj(wbits=-15).compress(d) + b""),
        ("br", brotli.compress),
        ("gzip", gzip.compress),
    ],
)
def test_compressed_bodies(
    scanner: CanaryScanner, buyer: Buyer, coding: str, compress: object
) -> None:
    payload = f"<html><body>Kirim ke {buyer.street_address}</body></html>".encode() * 3
    if coding == "deflate" and compress is not zlib.compress:
        co = zlib.compressobj(wbits=-15)
        body = co.compress(payload) + co.flush()
    else:
        body = compress(payload)  # type: ignore[operator]
    hit = only(scanner.scan(body, "response.body", content_encoding=coding), "address")
    assert hit.decoding == coding
    assert hit.count == 3


def test_json_string_values_with_paths(scanner: CanaryScanner, buyer: Buyer) -> None:
    body = json.dumps({"order": {"items": [{"sku": 1}, {"note": f"a.n. {buyer.name}"}]}})
    hit = only(scanner.scan(body, "response.body", content_type="application/json"), "name")
    assert hit.location == "response.body:$.order.items[1].note"
    assert hit.decoding == "json:$.order.items[1].note"


def test_json_unicode_escapes_are_decoded(scanner: CanaryScanner, buyer: Buyer) -> None:
    body = json.dumps({"e": buyer.email}, ensure_ascii=True).replace("@", "\\u0040")
    assert buyer.email not in body
    assert only(scanner.scan(body, "ws:server->client"), "email").location == (
        "ws:server->client:$.e"
    )


def test_form_fields(scanner: CanaryScanner, buyer: Buyer) -> None:
    body = f"a=1&contact={quote_plus(buyer.phone)}&x=y"
    hit = only(
        scanner.scan(body, "request.body", content_type="application/x-www-form-urlencoded"),
        "phone",
    )
    assert hit.location == "request.body:contact"
    assert hit.decoding == "form:contact"


def test_multipart_fields(scanner: CanaryScanner, buyer: Buyer) -> None:
    body = (
        '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="payload"\r\n'
        "Content-Type: application/json\r\n\r\n"
        + json.dumps({"addr": buyer.street_address})
        + "\r\n--XyZ--\r\n"
    )
    hits = scanner.scan(body, "request.body", content_type="multipart/form-data; boundary=XyZ")
    hit = only(hits, "address")
    assert hit.decoding == "multipart:payload>json:$.addr"
    assert hit.location == "request.body:payload:$.addr"


def test_query_string_and_percent_encoding(scanner: CanaryScanner, buyer: Buyer) -> None:
    url = f"https://social.example/p?ref=abc&em={quote(buyer.email, safe='')}#f"
    hit = only(scanner.scan(url, "url"), "email")
    assert hit.location == "query:em"
    assert hit.chain == "email"


def test_percent_encoded_path(scanner: CanaryScanner, buyer: Buyer) -> None:
    path = "/u/" + quote(quote(buyer.name, safe=""), safe="") + "/profile"
    hits = scanner.scan(path, "url:path")
    assert "name" in kinds(hits)


def test_cookies_and_set_cookie(scanner: CanaryScanner, buyer: Buyer) -> None:
    token = base64.b64encode(json.dumps({"p": buyer.phone}).encode()).decode()
    hit = only(scanner.scan(f"sid=1; _fbp={token}; x=2", "header:cookie"), "phone")
    assert hit.location == "cookie:_fbp:$.p"
    assert hit.decoding == "cookie:_fbp>base64>json:$.p"
    hit = only(
        scanner.scan(f"uid={quote(buyer.email)}; Path=/; Secure", "header:set-cookie"), "email"
    )
    assert hit.location == "set-cookie:uid"


def test_base64url_and_hex_chunks(scanner: CanaryScanner, buyer: Buyer) -> None:
    doc = json.dumps({"n": buyer.name, "pad": "??>>"}).encode()
    token = base64.urlsafe_b64encode(doc).decode().rstrip("=")
    hit = only(scanner.scan(f"Bearer {token}", "header:authorization"), "name")
    assert hit.decoding == "base64>json:$.n"
    hit = only(scanner.scan(f"trace {doc.hex()} end", "header:x-trace"), "name")
    assert hit.decoding.startswith("hex")


def test_html_entities_are_decoded(scanner: CanaryScanner, buyer: Buyer) -> None:
    text = "".join(f"&#{ord(c)};" if i % 2 else c for i, c in enumerate(buyer.email))
    hit = only(scanner.scan(f"<input value='{text}'>", "response.body"), "email")
    assert hit.decoding == "html"


def test_three_layers_deep(scanner: CanaryScanner, card: TestCard) -> None:
    inner = base64.b64encode(gzip.compress(card.number.encode())).decode()
    url = f"https://social.example/b?d={quote(inner, safe='')}"
    hit = only(scanner.scan(url, "url"), "card")
    assert hit.decoding == "query:d>base64>gzip"
    assert hit.encoding == "base64(gzip(card))"


def test_decode_false_searches_only_the_raw_bytes(scanner: CanaryScanner, card: TestCard) -> None:
    body = gzip.compress(card.number.encode())
    assert scanner.scan(body, "request.body", decode=False) == []
    assert kinds(scanner.scan(body, "request.body")) == {"card"}


def test_client_side_channels(scanner: CanaryScanner, buyer: Buyer) -> None:
    storage = json.dumps({"buyer_phone": buyer.phone})
    hit = only(scanner.scan(storage, "client:localStorage"), "phone")
    assert hit.location == "client:localStorage:$.buyer_phone"


# ------------------------------------------------------------------ card, phone, name, email


@pytest.mark.parametrize("mask", ["{f}******{l}", "{f}xxxxxx{l}", "**** **** **** {l}"])
def test_partial_card_is_reported_as_partial(
    scanner: CanaryScanner, card: TestCard, mask: str
) -> None:
    text = mask.format(f=card.first6, l=card.last4)
    hit = only(scanner.scan(json.dumps({"card": text}), "response.body"), "card")
    assert hit.partial
    assert hit.chain in ("first6last4(card)", "last4(card)")


def test_full_card_is_not_partial(scanner: CanaryScanner, card: TestCard) -> None:
    spaced = " ".join(card.number[i : i + 4] for i in range(0, 16, 4))
    for text, chain in ((card.number, "card"), (spaced, "spaced(card)")):
        hit = only(scanner.scan(f"pan={text};", "request.body", decode=False), "card")
        assert not hit.partial
        assert hit.chain == chain


def test_phone_prefixes(scanner: CanaryScanner, buyer: Buyer) -> None:
    nsn = "".join(ch for ch in buyer.phone if ch.isdigit())[2:]
    expected = {
        "+62" + nsn: "e164(phone)",
        "62" + nsn: "digits(phone)",
        "0" + nsn: "national(phone)",
        buyer.phone: "phone",
        "0" + buyer.phone[4:]: "national_typed(phone)",
        ("0" + buyer.phone[4:]).replace("-", " "): "national_spaced(phone)",
        buyer.phone.replace(" ", ""): "nospace(phone)",
    }
    for text, chain in expected.items():
        hit = only(scanner.scan(f"tel: {text} .", "response.body", decode=False), "phone")
        assert hit.chain == chain, text


def test_name_parts_are_partial(scanner: CanaryScanner, buyer: Buyer) -> None:
    last = buyer.name.split()[-1]
    assert len(last) >= 5
    hit = only(scanner.scan(f"Halo {last.lower()}!", "response.body"), "name")
    assert hit.partial
    full = only(scanner.scan(f"Halo {buyer.name}!", "response.body"), "name")
    assert not full.partial


def test_email_local_part_alone_is_not_an_email_leak(scanner: CanaryScanner, buyer: Buyer) -> None:
    local = buyer.email.split("@")[0]
    hits = scanner.scan(f"user={local}", "response.body")
    assert "email" not in kinds(hits)
    assert "marker" in kinds(hits)  # the order marker inside it is its own canary


def test_mixed_case_email(scanner: CanaryScanner, buyer: Buyer) -> None:
    mixed = "".join(c.upper() if i % 3 == 0 else c for i, c in enumerate(buyer.email))
    assert "email" in kinds(scanner.scan(mixed, "request.body"))


def test_two_buyers_are_told_apart() -> None:
    sets = [CanarySet.from_buyer(make_buyer(s), make_card(s), salt=SALT) for s in (1, 2)]
    both = CanarySet(sets[0].canaries + sets[1].canaries, SALT)
    sc = CanaryScanner(both)
    hit = only(sc.scan(f"e={make_buyer(2).email}", "request.body"), "email")
    assert hit.canary_hash == both.salted_hash(make_buyer(2).email)


# ------------------------------------------------------------------ no false positives


def test_no_false_positive_on_one_megabyte_of_random_bytes(scanner: CanaryScanner) -> None:
    data = random.Random(20240601).randbytes(1 << 20)
    assert scanner.scan(data, "response.body") == []


@pytest.mark.parametrize(
    "alphabet",
    ["0123456789abcdef", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"],
)
def test_no_false_positive_on_random_tokens(scanner: CanaryScanner, alphabet: str) -> None:
    rng = random.Random(99)
    text = "".join(rng.choice(alphabet) for _ in range(1 << 20))
    assert scanner.scan(text, "response.body", decode=False) == []


def test_no_false_positive_on_other_buyers(scanner: CanaryScanner) -> None:
    other = make_buyer(SEED + 1000)
    body = json.dumps(
        {
            "n": other.name,
            "e": other.email,
            "p": other.phone,
            "a": other.street_address,
            "c": make_card(SEED + 1000).number,
        }
    )
    assert not [h for h in scanner.scan(body, "response.body") if not h.partial]


# ------------------------------------------------------------------ masking


def test_hit_dicts_never_contain_a_raw_value(
    scanner: CanaryScanner, buyer: Buyer, card: TestCard
) -> None:
    body = json.dumps(
        {
            buyer.email: buyer.name,  # a canary as a JSON key ends up in the location
            "p": f"{buyer.phone} / {buyer.phone.replace(' ', '')}",
            "a": f"{buyer.street_address} {buyer.street_address.upper()}",
            "c": f"{card.number} {card.number}",
            "b": base64.b64encode(f"{buyer.email},{card.number},{buyer.name}".encode()).decode(),
        }
    )
    hits = scanner.scan(gzip.compress(body.encode()), "request.body")
    assert kinds(hits) >= {"email", "name", "phone", "address", "card"}
    dumped = json.dumps([h.to_dict() for h in hits])
    for raw in raw_forms(buyer, card):
        assert raw not in dumped
        assert raw.lower() not in dumped.lower()


def test_excerpt_masks_other_card_like_numbers(scanner: CanaryScanner, buyer: Buyer) -> None:
    hit = only(scanner.scan(f"{buyer.email} 4111 1111 1111 1111", "request.body"), "email")
    assert "4111" not in hit.excerpt
    assert "[masked:card-like]" in hit.excerpt
    assert hit.excerpt.startswith(f"[canary:email:{hit.canary_hash[:8]}]")


def test_excerpt_keeps_context(scanner: CanaryScanner, buyer: Buyer) -> None:
    hit = only(
        scanner.scan(
            f"{'.' * 100}kirim ke {buyer.street_address} besok{'.' * 100}", "ws:client->server"
        ),
        "address",
    )
    assert hit.excerpt.startswith("." * 15)
    assert "kirim ke [canary:address:" in hit.excerpt
    assert len(hit.excerpt) < 24 * 2 + 40


def test_redact(scanner: CanaryScanner, buyer: Buyer, card: TestCard) -> None:
    text = (
        f"{buyer.name} <{buyer.email.upper()}> tel {buyer.phone}, {buyer.street_address}; "
        f"pan {card.number} other 5555 5555 5555 4444 order 1234567890123"
    )
    out = scanner.redact(text)
    for raw in raw_forms(buyer, card):
        assert raw not in out
    assert "5555" not in out
    assert "1234567890123" in out  # not Luhn-valid: an order number stays readable
    assert out.count("[canary:") == 5


def test_postmessage_payload_names_both_kinds(scanner: CanaryScanner, buyer: Buyer) -> None:
    message = json.dumps({"type": "checkout:done", "holder": buyer.name, "tel": buyer.phone})
    hits = scanner.scan(message, "client:postMessage")
    assert {(h.kind, h.location) for h in hits} == {
        ("name", "client:postMessage:$.holder"),
        ("phone", "client:postMessage:$.tel"),
    }


def test_decompression_is_bounded(scanner: CanaryScanner, card: TestCard) -> None:
    # Output is capped at max(8 x input, 1 MiB): a 64 MiB bomb is cut short, not inflated.
    bomb = gzip.compress(b"\0" * (64 << 20) + card.number.encode())
    assert len(bomb) < 1 << 20
    assert scanner.scan(bomb, "response.body", content_encoding="gzip") == []


@pytest.mark.parametrize(
    "email",
    [
        "{buyer.email}",
        # A 16-character run makes the e-mail a decoded layer of its own (as a hand-typed
        # address did in witness mode): its partial name hit once hid the whole name.
        "{last}_{first}_2024@example.com",
    ],
)
def test_full_name_hit_is_kept_beside_partial_hits_in_the_email(
    scanner: CanaryScanner, buyer: Buyer, email: str
) -> None:
    first, last = (w.lower() for w in (buyer.name.split()[0], buyer.name.split()[-1]))
    body = json.dumps(
        {
            "items": [{"sku": "SKU-1", "qty": 1}],
            "buyer": {
                "name": buyer.name,
                "email": email.format(buyer=buyer, first=first, last=last),
            },
        }
    )
    hits = [h for h in scanner.scan(body, "request.body", content_type="application/json")]
    full = [h for h in hits if h.kind == "name" and not h.partial]
    assert [(h.location, h.decoding) for h in full] == [
        ("request.body:$.buyer.name", "json:$.buyer.name")
    ], [h.to_dict() for h in hits]
    assert any(h.kind == "name" and h.partial for h in hits)  # the words in the e-mail too


def _raw_forms_of(buyer: Buyer) -> list[str]:
    """Every readable form of the buyer's values a reviewer could recognise in an excerpt."""
    words = [w for w in buyer.name.split() if len(w) >= 3]
    forms = [buyer.name, buyer.email, buyer.phone, buyer.street_address, buyer.marker, *words]
    forms += [quote(buyer.email, safe=""), quote(buyer.name, safe=""), quote_plus(buyer.name)]
    return forms


def test_excerpts_of_a_demo_order_body_hold_no_raw_value(
    scanner: CanaryScanner, buyer: Buyer
) -> None:
    # The demo checkout's order request, and the pixel the data violations send beside it.
    body = json.dumps(
        {
            "items": [{"sku": "SKU-1", "qty": 1, "price": 125000}],
            "buyer": {
                "name": buyer.name,
                "email": buyer.email,
                "phone": buyer.phone,
                "address": buyer.street_address,
            },
        }
    )
    pixel = f"/px?ev=Purchase&em={quote(buyer.email, safe='')}&fn={quote_plus(buyer.name)}"
    hits = scanner.scan(body, "request.body", content_type="application/json")
    hits += scanner.scan(pixel, "url")
    assert {"name", "email", "phone", "address", "marker"} <= kinds(hits)
    for hit in hits:
        for raw in _raw_forms_of(buyer):
            assert raw.lower() not in hit.excerpt.lower(), (raw, hit.to_dict())


def test_advanced_matching_fields_are_each_a_hit_of_their_own(
    scanner: CanaryScanner, buyer: Buyer
) -> None:
    def h(value: str, algo: str = "sha256") -> str:
        return hashlib.new(algo, value.strip().lower().encode()).hexdigest()

    digits = "".join(ch for ch in buyer.phone if ch.isdigit())
    url = (
        f"/tr?ev=Purchase&fn={h(buyer.given_name)}&ln={h(buyer.family_name, 'md5')}"
        f"&ct={h(buyer.city)}&st={h(buyer.region, 'sha1')}&zp={h(buyer.postcode)}"
        f"&ph={h(digits)}"
    )
    found = {h.kind: h for h in scanner.scan(url, "url")}
    expected = {
        "given_name": "query:fn",
        "family_name": "query:ln",
        "city": "query:ct",
        "region": "query:st",
        "postcode": "query:zp",
        "phone": "query:ph",
    }
    assert {k: found[k].location for k in expected if k in found} == expected
    assert found["family_name"].chain == "md5(lower(family_name))"


def test_split_fields_inside_a_whole_value_are_not_hits_of_their_own(
    scanner: CanaryScanner, buyer: Buyer
) -> None:
    # Common values (a city, a postcode) are searched only hashed: plain text is everywhere.
    body = json.dumps({"holder": buyer.name, "kota": buyer.city, "kode_pos": buyer.postcode})
    assert kinds(scanner.scan(body, "response.body")) == {"name"}
    # A given name standing alone is a hit of its own.
    alone = scanner.scan(json.dumps({"first_name": buyer.given_name}), "request.body")
    assert only(alone, "given_name").location == "request.body:$.first_name"


def _common_fields(buyer: Buyer) -> dict[str, str]:
    return {
        "city": buyer.city,
        "region": buyer.region,
        "postcode": buyer.postcode,
        "address_line2": buyer.address_line2,
    }


def _simple_forms(value: str) -> list[str]:
    forms = []
    for v in (value, value.lower(), value.upper()):
        forms += [v, quote(v, safe=""), quote_plus(v), base64.b64encode(v.encode()).decode()]
        forms += [v.encode().hex()]
    return forms


def test_raw_common_fields_are_masked_but_never_hits(scanner: CanaryScanner, buyer: Buyer) -> None:
    fields = _common_fields(buyer)
    for kind, value in fields.items():
        for form in _simple_forms(value):
            text = f'{{"shipping": "{form}", "note": "x"}}'
            # Plain text is everywhere (a page lists cities): no hit, so no finding...
            assert scanner.scan(text, "response.body") == [], (kind, form)
            # ...but whatever is written masks it like every other canary.
            masked = scanner.redact(text)
            assert form not in masked, (kind, form, masked)
            assert f"[canary:{kind}:" in masked, (kind, form, masked)


def test_raw_common_fields_are_masked_only_as_whole_words(
    scanner: CanaryScanner, buyer: Buyer
) -> None:
    # A postcode inside a timestamp, a city inside a longer word: not the buyer's value.
    inside = f"ts=17{buyer.postcode}123 id=x{buyer.city.lower()}y"
    assert scanner.redact(inside) == inside
    marker = f"[canary:postcode:{scanner.canary_set.salted_hash(buyer.postcode)[:8]}]"
    assert scanner.redact(f"kode_pos={buyer.postcode}&") == f"kode_pos={marker}&"


def test_hit_excerpt_masks_a_raw_common_field_beside_it(
    scanner: CanaryScanner, buyer: Buyer
) -> None:
    body = f"to={buyer.email}&kota={buyer.city}&kode_pos={buyer.postcode}"
    hit = only(scanner.scan(body, "request.body", decode=False), "email")
    assert buyer.city not in hit.excerpt
    assert buyer.postcode not in hit.excerpt
    assert "[canary:city:" in hit.excerpt
    assert "[canary:postcode:" in hit.excerpt


def test_common_field_shorter_than_four_characters_is_not_masked_raw() -> None:
    # Three letters stand as a word all over a page: masking them would hide far more than
    # the buyer (the hashed forms are still searched).
    short = CanaryScanner(CanarySet((Canary("region", "Ban"),), SALT))
    assert short.redact("region Ban, city Bandung") == "region Ban, city Bandung"
    four = CanaryScanner(CanarySet((Canary("city", "Tual"),), SALT))
    marker = f"[canary:city:{four.canary_set.salted_hash('Tual')[:8]}]"
    assert four.redact("city Tual, actual") == f"city {marker}, actual"


@pytest.mark.parametrize("run", ["x", "X", "*", "0", "•"])
def test_runs_of_one_character_start_no_candidate(
    scanner: CanaryScanner, card: TestCard, run: str
) -> None:
    """Pages draw masked numbers and placeholders as runs of one character (``xxxx xxxx``,
    ``****``). No automaton key is such a run: a key of ``xxxxxxxx`` (the masked card form)
    matched at every byte of such a page, each candidate then verified in Python (1.4 ms a
    kilobyte, most of the proxy's time per response in the benchmark)."""
    page = (run * 4096).encode()
    assert list(scanner._automaton.iter(page.lower().decode("latin-1"))) == []
    assert scanner.scan(page, "response.body") == []
    masked = ("x" * 12 + card.number[-4:]).encode()
    assert scanner.canary_spans(masked) != []  # the masked form itself is still masked
