"""Canary values and the leak scanner: every encoded form, searched in one multi-pattern pass.

Chains read as function composition over text: ``sha256(lower(email))`` is the lowercase hex
SHA-256 of the lowercased email, ``base64(sha256(lower(email)))`` is base64 of that hex text
and ``base64(sha256_bin(lower(email)))`` is base64 of the raw 32-byte digest.
``base64@1(card)`` / ``base64@2(card)`` are the card's base64 when it sits 1 or 2 bytes past a
3-byte boundary inside a longer base64 string.

What is observed on the wire is decoded (compression, JSON, form, multipart, query, cookies,
percent-encoding, HTML entities, base64 and hex chunks) up to ``max_depth`` layers; every layer
is searched, all views of one layer in a single Aho-Corasick pass.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import html
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, quote_plus, unquote_to_bytes

import ahocorasick
import brotli

from paywitness.buyers import luhn_valid

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = [
    "CANARY_KINDS",
    "Canary",
    "CanaryHit",
    "CanaryKind",
    "CanaryScanner",
    "CanarySet",
    "Variant",
    "build_variants",
    "card_spans",
    "merge_spans",
    "murmur3_32",
    "new_salt",
    "redact_with",
]

CanaryKind = Literal["name", "email", "phone", "address", "card", "marker"]
CANARY_KINDS: tuple[CanaryKind, ...] = ("name", "email", "phone", "address", "card", "marker")


# --------------------------------------------------------------------------- canaries


@dataclass(frozen=True, slots=True)
class Canary:
    """One planted value; its ``repr`` never shows the value."""

    kind: CanaryKind
    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.kind not in CANARY_KINDS:
            raise ValueError(f"unknown canary kind {self.kind!r}; expected one of {CANARY_KINDS}")
        if not self.value.strip():
            raise ValueError(f"canary of kind {self.kind!r} has an empty value")


def new_salt() -> bytes:
    """A fresh per-run salt (written to the evidence bundle next to the salted hashes)."""
    return os.urandom(16)


@dataclass(frozen=True, slots=True)
class CanarySet:
    """The canaries of one run plus the salt that lets a third party verify a match."""

    canaries: tuple[Canary, ...]
    salt: bytes = field(repr=False)
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "canaries", tuple(self.canaries))

    @classmethod
    def from_buyer(
        cls,
        buyer: Buyer,
        card: TestCard | None = None,
        marker: str | None = None,
        salt: bytes | None = None,
    ) -> CanarySet:
        """Name, email, phone, street address, card number and order marker of one buyer."""
        items: list[Canary] = [
            Canary("name", buyer.name),
            Canary("email", buyer.email),
            Canary("phone", buyer.phone),
            Canary("address", buyer.street_address),
        ]
        if card is not None:
            items.append(Canary("card", card.number))
        items.append(Canary("marker", marker if marker is not None else buyer.marker))
        return cls(tuple(items), salt if salt is not None else new_salt(), buyer.seed)

    def salted_hash(self, value: str) -> str:
        """Hex SHA-256 of salt + value: proves a match without disclosing the value."""
        return hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()

    def manifest(self) -> dict[str, Any]:
        """What the evidence bundle stores: salt, seed, kinds and salted hashes, no values."""
        return {
            "salt": self.salt.hex(),
            "seed": self.seed,
            "canaries": [
                {"kind": c.kind, "hash": self.salted_hash(c.value)} for c in self.canaries
            ],
        }


# --------------------------------------------------------------------------- transforms


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 (pure Python; equals ``mmh3.hash(data, seed, signed=False)``)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data)
    end = n - n % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = _rotl32((k * c1) & mask, 15)
        h ^= (k * c2) & mask
        h = (_rotl32(h, 13) * 5 + 0xE6546B64) & mask
    tail = data[end:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = _rotl32((k * c1) & mask, 15)
        h ^= (k * c2) & mask
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def _hashlib(name: str) -> Callable[[bytes], bytes]:
    def digest(data: bytes) -> bytes:
        return hashlib.new(name, data).digest()

    return digest


_HASHES: dict[str, Callable[[bytes], bytes]] = {
    name: _hashlib(algo)
    for name, algo in (
        ("md5", "md5"),
        ("sha1", "sha1"),
        ("sha224", "sha224"),
        ("sha256", "sha256"),
        ("sha384", "sha384"),
        ("sha512", "sha512"),
        ("sha3_256", "sha3_256"),
        ("ripemd160", "ripemd160"),
    )
    if algo in hashlib.algorithms_available
}
_HASHES["murmur3"] = lambda data: murmur3_32(data).to_bytes(4, "big")
_HASHES["crc32"] = lambda data: zlib.crc32(data).to_bytes(4, "big")
#: Hashes whose raw digest is also looked for under base64/base32 (32-bit ones are too short).
_BIN_HASHES = tuple(h for h in _HASHES if h not in ("murmur3", "crc32"))
#: Hashes applied a second time over a first hash's hex (``sha256(md5(email))``).
_OUTER_HASHES = ("md5", "sha1", "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


_BYTE_ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "base64": _b64,
    "base64url": _b64url,
    "base64_nopad": lambda d: _b64(d).rstrip("="),
    "base64url_nopad": lambda d: _b64url(d).rstrip("="),
    "base32": lambda d: base64.b32encode(d).decode("ascii"),
    "hex": lambda d: d.hex(),
    "HEX": lambda d: d.hex().upper(),
}


def _utf8(fn: Callable[[bytes], str]) -> Callable[[str], str]:
    return lambda s: fn(s.encode("utf-8"))


_TEXT_ENCODINGS: dict[str, Callable[[str], str]] = {
    "url": lambda s: quote(s, safe=""),
    "urlplus": lambda s: quote_plus(s, safe=""),
    **{name: _utf8(fn) for name, fn in _BYTE_ENCODINGS.items()},
    "html": lambda s: html.escape(s, quote=True),
    "htmldec": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "htmlhex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
}
#: Second-layer encodings over a first encoding (``url(base64(email))``).
_OUTER_ENCODINGS = ("url", "base64", "base64url", "hex", "htmldec")
#: Encodings over a hash's hex text (url/html leave hex unchanged).
_OVER_HASH_ENCODINGS = ("base64", "base64url", "base64_nopad", "base64url_nopad", "base32", "hex")
_BIN_ENCODINGS = ("base64", "base64url", "base64_nopad", "base64url_nopad", "base32")
_B64_NAMES = frozenset(n for n in _BYTE_ENCODINGS if n.startswith("base64"))

# Key caps: a hash-derived token is conclusive after 32 chars; reversible encodings of a value
# are matched in full up to 192 chars (longer ones by their first 192).
_HASHED_KEY_CAP = 32
_KEY_CAP = 192
_MIN_KEY = 5
_SHORT_TOKEN = 16  # opaque tokens shorter than this must stand alone (crc32, murmur3)


@dataclass(frozen=True, slots=True)
class Variant:
    """One searchable form of a canary and the chain of transforms that produced it."""

    canary: int
    chain: str
    pattern: str = field(repr=False)
    partial: bool = False
    case_sensitive: bool = False
    opaque: bool = False
    hashed: bool = False


@dataclass(frozen=True, slots=True)
class _Form:
    chain: str
    text: str
    partial: bool = False
    derive: bool = True  # hashes and encodings of this form are generated too


def _case_forms(kind: str, value: str) -> list[_Form]:
    forms = [_Form(kind, value)]
    trimmed = value.strip()
    if trimmed != value:
        forms.append(_Form(f"trim({kind})", trimmed))
    forms.append(_Form(f"lower({kind})", trimmed.lower()))
    forms.append(_Form(f"upper({kind})", trimmed.upper()))
    return forms


def _phone_forms(value: str) -> list[_Form]:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("62"):
        nsn = digits[2:]
    elif digits.startswith("0"):
        nsn = digits[1:]
    else:
        nsn = digits
    forms = [_Form("phone", value.strip()), _Form("digits(phone)", digits)]
    forms += [
        _Form("e164(phone)", "+62" + nsn),
        _Form("intl(phone)", "62" + nsn),
        _Form("national(phone)", "0" + nsn),
        _Form("nsn(phone)", nsn),
    ]
    typed = value.strip()
    national_typed = "0" + typed[3:].lstrip(" -") if typed.startswith("+62") else typed
    for label, text in (
        ("spaced(phone)", typed.replace("-", " ")),
        ("national_typed(phone)", national_typed),
        ("national_spaced(phone)", national_typed.replace("-", " ")),
        ("national_dashed(phone)", national_typed.replace(" ", "-")),
        ("dashed(phone)", typed.replace(" ", "-")),
        ("nospace(phone)", typed.replace(" ", "")),
    ):
        forms.append(_Form(label, text, derive=False))
    return forms


def _card_forms(value: str) -> list[_Form]:
    digits = re.sub(r"\D", "", value)
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    forms = [
        _Form("card", value.strip()),
        _Form("digits(card)", digits),
        _Form("spaced(card)", " ".join(groups)),
        _Form("dashed(card)", "-".join(groups)),
    ]
    first6, last4 = digits[:6], digits[-4:]
    hidden = len(digits) - 10
    for mask in ("*", "x", "X", "•", "#"):
        forms.append(_Form("first6last4(card)", first6 + mask * hidden + last4, True, False))
        masked_groups = [mask * 4] * (len(groups) - 1) + [last4]
        forms.append(_Form("last4(card)", " ".join(masked_groups), True, False))
        forms.append(_Form("last4(card)", "-".join(masked_groups), True, False))
        forms.append(_Form("last4(card)", mask * (len(digits) - 4) + last4, True, False))
    for sep in ("...", "-", "_", "|"):
        forms.append(_Form("first6last4(card)", first6 + sep + last4, True, False))
    return forms


def _name_forms(value: str) -> list[_Form]:
    forms = _case_forms("name", value)
    for word in re.split(r"[\s,]+", value.strip()):
        word = word.strip(".")
        if len(word) >= 5 and word.isalpha():
            forms.append(_Form("word(name)", word, partial=True))
            forms.append(_Form("lower(word(name))", word.lower(), partial=True))
            forms.append(_Form("upper(word(name))", word.upper(), partial=True))
    return forms


def _forms(canary: Canary) -> list[_Form]:
    if canary.kind == "phone":
        return _phone_forms(canary.value)
    if canary.kind == "card":
        return _card_forms(canary.value)
    if canary.kind == "name":
        return _name_forms(canary.value)
    return _case_forms(canary.kind, canary.value)


@dataclass(frozen=True, slots=True)
class _MergedForm:
    chain: str
    text: str
    partial: bool
    derive: bool
    derive_chain: str


def _merged_forms(forms: list[_Form]) -> list[_MergedForm]:
    """Forms with equal text merged: the plain match keeps the first (as typed) name, derived
    chains take the most normalised one (``sha256(lower(email))`` even if typed in lowercase)."""
    by_text: dict[str, list[_Form]] = {}
    for f in forms:
        by_text.setdefault(f.text, []).append(f)
    merged: list[_MergedForm] = []
    for text, group in by_text.items():
        deriving = [f for f in group if f.derive]
        first = group[0]
        merged.append(
            _MergedForm(
                first.chain,
                text,
                all(f.partial for f in group),
                bool(deriving),
                _most_normalised(deriving) if deriving else first.chain,
            )
        )
    return merged


def _most_normalised(forms: list[_Form]) -> str:
    lowered = [f.chain for f in forms if f.chain.startswith("lower(")]
    return lowered[0] if lowered else forms[0].chain


def _b64_aligned(data: bytes, offset: int, urlsafe: bool) -> str:
    """The base64 characters fixed by ``data`` alone when it starts ``offset`` bytes in."""
    encoded = (_b64url if urlsafe else _b64)(b"\0" * offset + data + b"\0\0")
    first = -(-8 * offset // 6)  # first char whose 6 bits all come from data
    last = (8 * (offset + len(data))) // 6  # chars before this index are fully determined
    return encoded[first:last]


def build_variants(canaries: CanarySet | Sequence[Canary]) -> list[Variant]:
    """The variant pool: normalised forms x hashes x encodings, chained up to two layers."""
    items = canaries.canaries if isinstance(canaries, CanarySet) else tuple(canaries)
    pool: list[Variant] = []
    for index, canary in enumerate(items):
        seen: set[str] = set()

        def add(
            chain: str,
            text: str,
            *,
            partial: bool = False,
            cs: bool = False,
            opaque: bool = False,
            hashed: bool = False,
            _i: int = index,
            _seen: set[str] = seen,
        ) -> None:
            if len(text) >= _MIN_KEY and text not in _seen:
                _seen.add(text)
                pool.append(Variant(_i, chain, text, partial, cs, opaque, hashed))

        for form in _merged_forms(_forms(canary)):
            add(form.chain, form.text, partial=form.partial)
            if not form.derive:
                continue
            label = form.derive_chain
            raw = form.text.encode("utf-8")
            for enc, fn in _TEXT_ENCODINGS.items():
                inner = fn(form.text)
                chain1 = f"{enc}({label})"
                cs1 = enc in _B64_NAMES
                add(
                    chain1,
                    inner,
                    partial=form.partial,
                    cs=cs1,
                    opaque=enc not in ("url", "urlplus", "html", "htmldec", "htmlhex"),
                )
                for outer in _OUTER_ENCODINGS:
                    if outer == enc and outer != "url":
                        continue
                    text2 = _TEXT_ENCODINGS[outer](inner)
                    cs2 = outer in _B64_NAMES or (outer in ("url", "htmldec") and cs1)
                    add(
                        f"{outer}({chain1})",
                        text2,
                        partial=form.partial,
                        cs=cs2,
                        opaque=outer not in ("url", "htmldec"),
                    )
            if form.partial:
                continue
            for urlsafe, name in ((False, "base64"), (True, "base64url")):
                for offset in (0, 1, 2):
                    add(
                        f"{name}@{offset}({label})",
                        _b64_aligned(raw, offset, urlsafe),
                        cs=True,
                        opaque=True,
                    )
            for hname, hfn in _HASHES.items():
                digest = hfn(raw)
                hexed = digest.hex()
                chain1 = f"{hname}({label})"
                add(chain1, hexed, opaque=True, hashed=True)
                for enc in _OVER_HASH_ENCODINGS:
                    add(
                        f"{enc}({chain1})",
                        _TEXT_ENCODINGS[enc](hexed),
                        cs=enc in _B64_NAMES,
                        opaque=True,
                        hashed=True,
                    )
                for outer_hash in _OUTER_HASHES:
                    add(
                        f"{outer_hash}({chain1})",
                        _HASHES[outer_hash](hexed.encode()).hex(),
                        opaque=True,
                        hashed=True,
                    )
                if hname in _BIN_HASHES:
                    for enc in _BIN_ENCODINGS:
                        add(
                            f"{enc}({hname}_bin({label}))",
                            _BYTE_ENCODINGS[enc](digest),
                            cs=enc in _B64_NAMES,
                            opaque=True,
                            hashed=True,
                        )
    return pool


# --------------------------------------------------------------------------- hits


@dataclass(frozen=True, slots=True)
class CanaryHit:
    """One canary found in observed data; carries no raw canary value."""

    kind: str
    chain: str
    decoding: str
    location: str
    partial: bool
    canary_hash: str
    excerpt: str
    encoding: str = ""
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Rarest first in web traffic: an automaton key starts at the rarest byte of its pattern, so
# the root has few children and the automaton rarely leaves it (pyahocorasick looks children
# up linearly; this keeps the raw pass near its single-pattern speed).
_ANCHOR_ORDER = b"@%#&;=+~^|!$*<>[]{}\\`?:()'\"\t\r\nqzjxkvwyfb976843g5hcumpdl20r1noitsae/_,.- "
_ANCHOR_RANK = [len(_ANCHOR_ORDER) // 2] * 256
for _rank, _byte in enumerate(_ANCHOR_ORDER):
    _ANCHOR_RANK[_byte] = _rank
_KEY_LEN = 8


def _pick_key(region: bytes) -> tuple[int, bytes]:
    """(offset, key): the key is the slice of ``region`` that starts at its rarest byte."""
    size = len(region)
    klen = _KEY_LEN if size >= _KEY_LEN + 3 else max(_MIN_KEY, size - 3)
    klen = min(klen, size)
    best = 0
    for i in range(1, size - klen + 1):
        if _ANCHOR_RANK[region[i]] < _ANCHOR_RANK[region[best]]:
            best = i
    return best, region[best : best + klen]


@dataclass(slots=True)
class _View:
    data: bytes
    decoding: tuple[str, ...]
    location: str
    depth: int
    parent: int | None
    span: tuple[int, int] | None  # where it came from in the parent (None: all of it)
    content_type: str | None = None
    content_encoding: str | None = None
    # JSON string values that appear verbatim in ``data`` and need no further decoding: not
    # searched again as views, only used to name the JSON path of a hit in this view.
    fields: list[tuple[str, bytes]] | None = None


@dataclass(slots=True)
class _Match:
    variant: int
    start: int
    end: int


_TOKEN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(rb"^(?:[0-9a-fA-F]{2})+$")
_PCT = re.compile(rb"%[0-9A-Fa-f]{2}")
_ENTITY = re.compile(rb"&(?:#[0-9]{2,7}|#[xX][0-9a-fA-F]{2,6}|[A-Za-z]{2,8});")
_FORM = re.compile(rb"^[\w.\-\[\]%]{1,64}=[^&\s]*(?:&[\w.\-\[\]%]{1,64}=?[^&\s]*)*$")
_PADDED = re.compile(rb"^[A-Za-z0-9+/_-]+={1,2}$")  # base64 padding, not a form field
_DIGIT_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n" + bytes(range(0x80, 0x100))
_MAX_VIEWS = 4096
_MAX_CHILDREN = 512
_SEP = b"\x00"


def _texty(data: bytes) -> bool:
    """Plausibly text (most bytes printable, valid UTF-8): worth decoding further."""
    if len(data) < 4:
        return False
    if len(data.translate(None, _PRINTABLE)) * 10 > len(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _compressed_magic(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if len(data) > 2 and data[0] == 0x78 and ((data[0] << 8) | data[1]) % 31 == 0:
        return "deflate"
    return None


def _decompress(data: bytes, coding: str, limit: int) -> bytes | None:
    try:
        if coding in ("gzip", "x-gzip"):
            obj = zlib.decompressobj(47)  # auto-detect gzip or zlib header
            return obj.decompress(data, limit)
        if coding == "deflate":
            try:
                return zlib.decompressobj(15).decompress(data, limit)
            except zlib.error:
                return zlib.decompressobj(-15).decompress(data, limit)
        if coding == "br":
            out: bytes = brotli.decompress(data)
            return out[:limit]
    except (zlib.error, brotli.error):
        return None
    return None


_DECODABLE = re.compile(rb"[%&=?#;]|^\s*[\[{\"]|^--|[A-Za-z0-9+/_-]{16}")


def _may_decode(data: bytes) -> bool:
    """Cheap test: could any decoder find something in ``data``?"""
    return _compressed_magic(data) is not None or _DECODABLE.search(data) is not None


def _looks_like_form(data: bytes) -> bool:
    return len(data) < 1 << 20 and not _PADDED.match(data) and _FORM.match(data) is not None


def _json_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _JSON_KEY.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def _json_strings(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if len(node) >= _MIN_KEY:
                yield where, node
        elif isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                stack.append((v, _json_path(where, str(k))))
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                stack.append((node[i], _json_path(where, i)))


def _field_location(base: str, container: str, name: str) -> str:
    low = base.lower()
    if container == "query" and low in ("url", "url:query"):
        return f"query:{name}"
    if container == "cookie" and low == "header:cookie":
        return f"cookie:{name}"
    if container == "cookie" and low == "header:set-cookie":
        return f"set-cookie:{name}"
    if container == "query":
        return f"{base}:query:{name}"
    return f"{base}:{name}"


def _encoding_chain(chain: str, decoding: Sequence[str]) -> str:
    """The variant chain wrapped by the wire encodings it was found under."""
    names = {
        "pct": "url",
        "html": "html",
        "base64": "base64",
        "hex": "hex",
        "gzip": "gzip",
        "deflate": "deflate",
        "br": "br",
    }
    out = chain
    for step in reversed(decoding):
        if step in names:
            out = f"{names[step]}({out})"
    return out


# --------------------------------------------------------------------------- scanner


def card_spans(data: bytes) -> list[tuple[int, int, str]]:
    """Every Luhn-valid 13-19 digit run: masked whether or not it is a planted card."""
    return [
        (m.start(), m.end(), "[masked:card-like]")
        for m in _DIGIT_RUN.finditer(data)
        if luhn_valid(m.group().decode("ascii"))
    ]


def merge_spans(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping mask spans joined; the one starting first (the longest there) names it."""
    spans = sorted(spans, key=lambda sp: (sp[0], -sp[1]))
    merged: list[tuple[int, int, str]] = []
    for s, e, label in spans:
        if merged and s < merged[-1][1]:
            ps, pe, plabel = merged[-1]
            merged[-1] = (ps, max(pe, e), plabel)
        else:
            merged.append((s, e, label))
    return merged


def redact_with(scanners: Sequence[CanaryScanner], text: str) -> str:
    """``text`` masked once for the canaries of several scanners together (and card-like
    digit runs): spans from all of them are merged on the original text, so one scanner's
    mask never hides another's canary from it."""
    data = text.encode("utf-8")
    spans = [sp for scanner in scanners for sp in scanner.canary_spans(data)]
    spans += card_spans(data)  # after: on a tie the canary names the span
    return CanaryScanner._render(data, 0, len(data), merge_spans(spans))


class CanaryScanner:
    """Finds every canary variant in observed data, through the wire encodings."""

    def __init__(self, canary_set: CanarySet, *, max_depth: int = 3) -> None:
        self.canary_set = canary_set
        self.max_depth = max_depth
        self.variants = build_variants(canary_set)
        self._hashes = [canary_set.salted_hash(c.value) for c in canary_set.canaries]
        self._kinds = [c.kind for c in canary_set.canaries]
        self._patterns = [v.pattern.encode("utf-8") for v in self.variants]
        self._patterns_low = [p.lower() for p in self._patterns]
        self._need = [
            min(len(p), _HASHED_KEY_CAP if v.hashed else _KEY_CAP)
            for v, p in zip(self.variants, self._patterns, strict=True)
        ]
        groups: dict[str, list[tuple[int, int]]] = {}
        for i, low in enumerate(self._patterns_low):
            offset, key_bytes = _pick_key(low[: self._need[i]])
            groups.setdefault(key_bytes.decode("latin-1"), []).append((i, offset))
        self._groups: list[tuple[int, tuple[tuple[int, int], ...]]] = []
        automaton = ahocorasick.Automaton()
        for key, members in groups.items():
            automaton.add_word(key, len(self._groups))
            self._groups.append((len(key), tuple(members)))
        automaton.make_automaton()
        self._automaton = automaton
        self.max_pattern = max(self._need, default=0)

    @property
    def pattern_count(self) -> int:
        """Distinct automaton keys (variants sharing a key are told apart on verification)."""
        return len(self._groups)

    # ---------------------------------------------------------------- matching
    def _matches(self, data: bytes) -> list[_Match]:
        """All verified variant matches in ``data`` (one automaton pass)."""
        low_bytes = data.lower()
        out: list[_Match] = []
        size = len(data)
        for end, gid in self._automaton.iter(low_bytes.decode("latin-1")):
            keylen, members = self._groups[gid]
            key_start = end - keylen + 1
            best: dict[int, tuple[tuple[int, int], int, int, int]] = {}
            for vi, offset in members:
                start = key_start - offset
                if start < 0:
                    continue
                variant = self.variants[vi]
                pat = self._patterns[vi]
                need = self._need[vi]
                if data.startswith(pat, start):
                    score, stop = (3, len(pat)), start + len(pat)
                elif need < len(pat) and data.startswith(pat[:need], start):
                    score, stop = (1, need), start + need
                elif variant.case_sensitive:
                    continue
                elif low_bytes.startswith(self._patterns_low[vi], start):
                    score, stop = (2, len(pat)), start + len(pat)
                elif need < len(pat) and low_bytes.startswith(self._patterns_low[vi][:need], start):
                    score, stop = (0, need), start + need
                else:
                    continue
                if score[0] < 2:  # matched by its capped prefix: extend over the token
                    while stop < size and data[stop] in _TOKEN:
                        stop += 1
                if (
                    variant.opaque
                    and len(pat) < _SHORT_TOKEN
                    and (
                        (start > 0 and data[start - 1] in _ALNUM)
                        or (stop < size and data[stop] in _ALNUM)
                    )
                ):
                    continue
                current = best.get(variant.canary)
                if current is None or score > current[0]:
                    best[variant.canary] = (score, vi, start, stop)
            for _score, vi, start, stop in best.values():
                out.append(_Match(vi, start, stop))
        return out

    @staticmethod
    def _drop_contained(matches: list[_Match], canary_of: Callable[[int], int]) -> list[_Match]:
        matches.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[_Match] = []
        reach: dict[int, int] = {}
        for m in matches:
            c = canary_of(m.variant)
            if reach.get(c, -1) >= m.end:
                continue
            kept.append(m)
            reach[c] = max(reach.get(c, -1), m.end)
        return kept

    # ---------------------------------------------------------------- masking
    def canary_spans(self, data: bytes) -> list[tuple[int, int, str]]:
        """(start, end, marker) of every canary form found in ``data``, overlaps and all."""
        return [
            (m.start, m.end, self._marker(self.variants[m.variant].canary))
            for m in self._matches(data)
        ]

    def _mask_spans(self, data: bytes) -> list[tuple[int, int, str]]:
        return merge_spans(self.canary_spans(data) + card_spans(data))

    def _marker(self, canary: int) -> str:
        return f"[canary:{self._kinds[canary]}:{self._hashes[canary][:8]}]"

    @staticmethod
    def _render(data: bytes, lo: int, hi: int, spans: Iterable[tuple[int, int, str]]) -> str:
        parts: list[str] = []
        pos = lo
        for s, e, label in spans:
            if e <= lo or s >= hi:
                continue
            if s > pos:
                parts.append(data[pos:s].decode("utf-8", "replace"))
            parts.append(label)
            pos = max(pos, e)
        if pos < hi:
            parts.append(data[pos:hi].decode("utf-8", "replace"))
        return "".join(parts)

    def redact(self, text: str) -> str:
        """``text`` with every canary form and every Luhn-valid 13-19 digit run masked."""
        return redact_with((self,), text)

    def _excerpt(self, data: bytes, match: _Match, context: int = 24) -> str:
        lo, hi = max(0, match.start - context), min(len(data), match.end + context)
        # Mask over a wider window so that an occurrence cut by the excerpt edge is still seen.
        wide_lo = max(0, lo - self.max_pattern)
        wide_hi = min(len(data), hi + self.max_pattern)
        spans = [
            (s + wide_lo, e + wide_lo, lab) for s, e, lab in self._mask_spans(data[wide_lo:wide_hi])
        ]
        own = (match.start, match.end, self._marker(self.variants[match.variant].canary))
        spans = [sp for sp in spans if sp[1] <= own[0] or sp[0] >= own[1]] + [own]
        spans.sort()
        merged: list[tuple[int, int, str]] = []
        for s, e, label in spans:
            if merged and s < merged[-1][1]:
                ps, pe, plabel = merged[-1]
                merged[-1] = (ps, max(pe, e), plabel if plabel == own[2] else label)
            else:
                merged.append((s, e, label))
        return self._render(data, lo, hi, merged)

    # ---------------------------------------------------------------- decoding
    def _children(self, view: _View, budget: list[int]) -> list[_View]:
        data = view.data
        if len(data) < _MIN_KEY:
            return []
        if view.depth > 0 and not view.content_type and not _may_decode(data):
            return []
        out: list[_View] = []

        def child(
            payload: bytes,
            step: str,
            location: str | None = None,
            span: tuple[int, int] | None = None,
            ctype: str | None = None,
        ) -> None:
            if len(out) >= _MAX_CHILDREN or budget[0] <= 0 or len(payload) < _MIN_KEY:
                return
            budget[0] -= len(payload)
            out.append(
                _View(
                    payload,
                    (*view.decoding, step),
                    location if location is not None else view.location,
                    view.depth + 1,
                    None,
                    span,
                    ctype,
                )
            )

        # Compression: by Content-Encoding, else by magic bytes. The compressed bytes say
        # nothing else, so a decompressed child replaces every other decoding.
        codings = [c.strip().lower() for c in (view.content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        magic = _compressed_magic(data)
        for coding in [*reversed(codings), *([magic] if magic else [])]:
            plain = _decompress(data, coding, max(budget[0], 0))
            if plain:
                label = "gzip" if coding == "x-gzip" else coding
                child(plain, label, ctype=view.content_type)
                return out

        ctype = (view.content_type or "").lower()
        stripped = data.lstrip()
        structured = False
        # JSON: every string value with its path.
        if stripped[:1] in (b"{", b"[") or "json" in ctype:
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError, RecursionError):
                doc = None
            if isinstance(doc, dict | list):
                structured = True
                verbatim = b"\\" not in data
                fields: list[tuple[str, bytes]] = []
                for path, text in _json_strings(doc):
                    payload = text.encode("utf-8")
                    if verbatim and not _may_decode(payload):
                        fields.append((path, payload))
                    else:
                        child(payload, f"json:{path}", f"{view.location}:{path}")
                view.fields = fields
        # Multipart: each part with its own headers.
        boundary = None
        bm = re.search(r'boundary="?([^";,]+)"?', view.content_type or "")
        if bm:
            boundary = bm.group(1).encode("latin-1", "replace")
        elif data.startswith(b"--"):
            first = data.split(b"\n", 1)[0].rstrip(b"\r")
            if 4 < len(first) < 200 and b" " not in first:
                boundary = first[2:]
        if boundary:
            for part in data.split(b"--" + boundary)[1:]:
                if part.startswith(b"--"):
                    break
                head, sep, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
                if not sep:
                    head, sep, body = part.lstrip(b"\n").partition(b"\n\n")
                if not sep:
                    continue
                structured = True
                nm = re.search(rb'name="([^"]*)"', head)
                name = nm.group(1).decode("utf-8", "replace") if nm else "?"
                pm = re.search(rb"(?im)^content-type:\s*([^\r\n]+)", head)
                body = body[:-2] if body.endswith(b"\r\n") else body.rstrip(b"\n")
                child(
                    body,
                    f"multipart:{name}",
                    _field_location(view.location, "multipart", name),
                    ctype=pm.group(1).decode("latin-1") if pm else None,
                )
        # URL query (and fragment), form bodies, cookies.
        low_loc = view.location.lower()
        query: bytes | None = None
        container = "form"
        at_root = view.depth == 0
        if (at_root and low_loc.startswith("url")) or stripped[:8].lower().startswith(
            (b"http://", b"https://", b"ws://", b"wss://", b"/")
        ):
            if b"?" in data or b"#" in data:
                query = re.split(rb"[?#]", data, maxsplit=1)[1].replace(b"#", b"&")
                container = "query"
            elif at_root and low_loc.startswith("url") and _looks_like_form(stripped.strip()):
                query, container = stripped.strip(), "query"
        elif at_root and "cookie" in low_loc:
            for pair in data.split(b";"):
                name_b, eq, value = pair.strip().partition(b"=")
                if eq:
                    structured = True
                    name = name_b.decode("utf-8", "replace")
                    child(value, f"cookie:{name}", _field_location(view.location, "cookie", name))
        elif "x-www-form-urlencoded" in ctype or _looks_like_form(stripped.strip()):
            query = stripped.strip()
        if query is not None:
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
            for name_l, value_l in pairs:
                structured = True
                name = name_l.encode("latin-1").decode("utf-8", "replace")
                child(
                    value_l.encode("latin-1"),
                    f"{container}:{name}",
                    _field_location(view.location, container, name),
                )
        if structured:
            return out  # the fields are decoded further at the next layer
        # Percent-encoding and HTML entities of the whole view (paths, free text).
        if _PCT.search(data):
            decoded = unquote_to_bytes(data)
            if decoded != data:
                child(decoded, "pct")
        if _ENTITY.search(data):
            text = data.decode("utf-8", "replace")
            unescaped = html.unescape(text)
            if unescaped != text:
                child(unescaped.encode("utf-8"), "html")
        # Base64 and hex chunks.
        for m in _B64_RUN.finditer(data):
            if len(out) >= _MAX_CHILDREN:
                break
            run = m.group()
            decoded_run = self._decode_run(run)
            if decoded_run is not None:
                step, payload = decoded_run
                child(payload, step, span=(m.start(), m.end()))
        return out

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # session ids and tokens repeat across flows
    def _decode_run(run: bytes) -> tuple[str, bytes] | None:
        if _HEX_RUN.match(run):
            payload = binascii.unhexlify(run)
            if _texty(payload) or _compressed_magic(payload):
                return "hex", payload
            return None  # a hex digest, not base64
        if run.lower() == run or run.upper() == run:
            return None  # base64 of anything is mixed-case; this is an identifier
        body = run.rstrip(b"=")
        urlsafe = b"-" in body or b"_" in body
        if urlsafe and (b"+" in body or b"/" in body):
            return None
        # The run may start mid-token: try each of the four character alignments.
        shifts = 4 if len(body) >= 24 and len(run) % 4 else 1
        for skip in range(shifts):
            chunk = body[skip:]
            chunk = chunk[: len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
            try:
                payload = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(
                    chunk + b"=" * (-len(chunk) % 4)
                )
            except (binascii.Error, ValueError):
                continue
            if _texty(payload) or _compressed_magic(payload):
                return "base64", payload
        return None

    # ---------------------------------------------------------------- scanning
    def scan(
        self,
        data: bytes | str,
        location: str,
        *,
        content_type: str | None = None,
        content_encoding: str | None = None,
        decode: bool = True,
    ) -> list[CanaryHit]:
        """Every canary in ``data`` observed at ``location`` (e.g. ``url:query``)."""
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        views = [_View(raw, (), location, 0, None, None, content_type, content_encoding)]
        budget = [max(8 * len(raw), 1 << 20)]
        matches_by_view: dict[int, list[_Match]] = {}
        level = [0]
        while level:
            self._search_level(views, level, matches_by_view)
            if not decode:
                break
            next_level: list[int] = []
            for vid in level:
                view = views[vid]
                if view.depth >= self.max_depth or len(views) >= _MAX_VIEWS:
                    continue
                for kid in self._children(view, budget):
                    kid.parent = vid
                    views.append(kid)
                    next_level.append(len(views) - 1)
            level = next_level
        return self._hits(views, matches_by_view)

    def _search_level(
        self, views: list[_View], level: list[int], out: dict[int, list[_Match]]
    ) -> None:
        """One automaton pass over every view of a decoding level, joined by NUL bytes."""
        starts: list[int] = []
        chunks: list[bytes] = []
        pos = 0
        for vid in level:
            starts.append(pos)
            chunks.append(views[vid].data)
            pos += len(views[vid].data) + 1
        joined = _SEP.join(chunks)
        for m in self._matches(joined):
            i = bisect.bisect_right(starts, m.start) - 1
            base = starts[i]
            vid = level[i]
            m.start -= base
            m.end = min(m.end - base, len(views[vid].data))
            out.setdefault(vid, []).append(m)

    def _hits(self, views: list[_View], found: dict[int, list[_Match]]) -> list[CanaryHit]:
        canary_of = self._canary_of
        for vid in list(found):
            found[vid] = self._drop_contained(found[vid], canary_of)
        # A canary found in a decoded child explains the same canary in the parent's span.
        explained: dict[int, list[tuple[int, int, int]]] = {}
        for vid, matches in found.items():
            canaries = {canary_of(m.variant) for m in matches}
            child = views[vid]
            while child.parent is not None:
                parent_len = len(views[child.parent].data)
                s, e = child.span if child.span is not None else (0, parent_len)
                for c in canaries:
                    explained.setdefault(child.parent, []).append((c, s, e))
                child = views[child.parent]
        hits: list[CanaryHit] = []
        for vid in sorted(found):
            view = views[vid]
            # Repeats of one variant in one view make one hit with a count.
            first: dict[int, _Match] = {}
            counts: dict[int, int] = {}
            for m in found[vid]:
                c = canary_of(m.variant)
                if any(
                    c == ec and m.start < ee and es < m.end for ec, es, ee in explained.get(vid, ())
                ):
                    continue
                first.setdefault(m.variant, m)
                counts[m.variant] = counts.get(m.variant, 0) + 1
            for vi, m in first.items():
                c = canary_of(vi)
                variant = self.variants[vi]
                decoding, location = view.decoding, view.location
                field_path = self._field_of(view, m)
                if field_path is not None:
                    decoding = (*decoding, f"json:{field_path}")
                    location = f"{location}:{field_path}"
                hits.append(
                    CanaryHit(
                        kind=self._kinds[c],
                        chain=variant.chain,
                        decoding=">".join(self.redact(step) for step in decoding),
                        location=self.redact(location),
                        partial=variant.partial,
                        canary_hash=self._hashes[c],
                        excerpt=self._excerpt(view.data, m),
                        encoding=_encoding_chain(variant.chain, view.decoding),
                        count=counts[vi],
                    )
                )
        return hits

    @staticmethod
    def _field_of(view: _View, match: _Match) -> str | None:
        """The JSON path of the verbatim string value that holds ``match``, if any."""
        if not view.fields:
            return None
        found = view.data[match.start : match.end]
        for path, text in view.fields:
            if found in text:
                return path
        return None

    def _canary_of(self, variant: int) -> int:
        return self.variants[variant].canary
