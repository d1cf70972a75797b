"""Every searchable form of a canary: normalised forms x hashes x encodings, up to two layers.

Chains read as function composition over text: ``sha256(lower(email))`` is the lowercase hex
SHA-256 of the lowercased email, ``base64(sha256(lower(email)))`` is base64 of that hex text
and ``base64(sha256_bin(lower(email)))`` is base64 of the raw 32-byte digest.
``base64@1(card)`` / ``base64@2(card)`` are the card's base64 when it sits 1 or 2 bytes past a
3-byte boundary inside a longer base64 string.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from paywitness.canaries.values import HASHED_ONLY_KINDS, Canary, CanarySet

__all__ = [
    "HASHED_KEY_CAP",
    "KEY_CAP",
    "MASK_ONLY_MIN",
    "MIN_KEY",
    "SHORT_TOKEN",
    "Variant",
    "build_variants",
    "indexed_variants",
    "murmur3_32",
]


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
HASHED_KEY_CAP = 32
KEY_CAP = 192
MIN_KEY = 5
SHORT_TOKEN = 16  # opaque tokens shorter than this must stand alone (crc32, murmur3)
#: The shortest common field (city, region, postcode, second address line) masked in its raw
#: forms. Those forms are masking-only (they never make a hit: a city name in a page is not a
#: leak), and they are matched only as whole words: a 5-digit postcode also sits inside
#: timestamps, order numbers and prices, a 4-letter city ("Tual") inside longer words
#: ("actual"), and masking those would garble evidence without hiding the buyer. Four
#: characters keep the shortest Indonesian cities and provinces ("Tual", "Bali", "Riau")
#: masked; a shorter value would be masked wherever it stands as a word, far beyond the buyer.
MASK_ONLY_MIN = 4


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
    #: Masked wherever it stands as a whole word, never reported as a hit (see MASK_ONLY_MIN).
    mask_only: bool = False


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


def _field_forms(kind: str, value: str) -> list[_Form]:
    """A common field (city, postcode): the normalisations advanced matching hashes."""
    low = " ".join(value.split()).lower()
    return [_Form(f"lower({kind})", low), _Form(f"nospace(lower({kind}))", "".join(low.split()))]


def _forms(canary: Canary) -> list[_Form]:
    if canary.kind in HASHED_ONLY_KINDS:
        return _field_forms(canary.kind, canary.value)
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
        pool += indexed_variants(canary, index)
    return pool


# A run's redactor merges its per-test scanners now and then (redaction.py): the same canaries
# come back at the same or a new index, and numbering their variants again cost a third of a
# rebuild (about 100,000 `dataclasses.replace` calls in a 15-purchase benchmark).
# indexed_variants builds Variants positionally: a new field must be added there too.
assert [f.name for f in dataclasses.fields(Variant)] == [
    "canary", "chain", "pattern", "partial", "case_sensitive", "opaque", "hashed", "mask_only"
]  # fmt: skip


@functools.lru_cache(maxsize=2048)
def indexed_variants(canary: Canary, index: int) -> tuple[Variant, ...]:
    """One canary's variants numbered ``index`` (its place in a canary set)."""
    own = _canary_variants(canary)
    if index == 0:
        return own
    # The constructor, not `dataclasses.replace` (half the time per variant).
    return tuple(
        Variant(
            index, v.chain, v.pattern, v.partial, v.case_sensitive, v.opaque, v.hashed, v.mask_only
        )
        for v in own
    )


@functools.lru_cache(maxsize=1024)
def _canary_variants(canary: Canary) -> tuple[Variant, ...]:
    """One canary's variants (numbered 0), built once per value: the redactor, the proxy's
    canary watch and every test's scanner share them."""
    pool: list[Variant] = []
    seen: set[str] = set()

    def add(
        chain: str,
        text: str,
        *,
        partial: bool = False,
        cs: bool = False,
        opaque: bool = False,
        hashed: bool = False,
        mask_only: bool = False,
    ) -> None:
        if len(text) >= (MASK_ONLY_MIN if mask_only else MIN_KEY) and text not in seen:
            seen.add(text)
            pool.append(Variant(0, chain, text, partial, cs, opaque, hashed, mask_only))

    if canary.kind in HASHED_ONLY_KINDS:
        for form in _merged_forms(_forms(canary)):
            _add_hashes(add, form.derive_chain, form.text.encode("utf-8"), _FIELD_HASHES)
        # The raw forms, masked but never searched for hits (see MASK_ONLY_MIN). The aligned
        # base64 forms are left out: they match inside longer tokens, never as whole words.
        if len(canary.value.strip()) >= MASK_ONLY_MIN:
            for form in _merged_forms(_case_forms(canary.kind, canary.value)):
                _add_encoded(functools.partial(add, mask_only=True), form)
        return tuple(pool)
    for form in _merged_forms(_forms(canary)):
        add(form.chain, form.text, partial=form.partial)
        if not form.derive:
            continue
        label = form.derive_chain
        raw = form.text.encode("utf-8")
        _add_encoded(add, form)
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
        _add_hashes(add, label, raw, _HASHES)
    return tuple(pool)


def _add_encoded(add: Callable[..., None], form: _MergedForm) -> None:
    """The reversible encodings of one form, one and two layers deep."""
    add(form.chain, form.text, partial=form.partial)
    for enc, fn in _TEXT_ENCODINGS.items():
        inner = fn(form.text)
        chain1 = f"{enc}({form.derive_chain})"
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


#: The hashes advanced-matching pixels apply to a field (Meta, TikTok, Google: SHA-256; some
#: older tags MD5 or SHA-1).
_FIELD_HASHES: dict[str, Callable[[bytes], bytes]] = {
    name: _HASHES[name] for name in ("md5", "sha1", "sha256") if name in _HASHES
}


def _add_hashes(
    add: Callable[..., None], label: str, raw: bytes, hashes: dict[str, Callable[[bytes], bytes]]
) -> None:
    """Each hash of ``raw`` as hex, encodings of the hex, a hash of the hex and the binary
    digest's base64/base32."""
    for hname, hfn in hashes.items():
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
