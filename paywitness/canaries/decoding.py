"""Wire decoding: what a flow's bytes say under compression, JSON, form, multipart, query,
cookies, percent-encoding, HTML entities, base64 and hex, one layer at a time."""

from __future__ import annotations

import binascii
import functools
import html
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

import brotli

from paywitness.canaries.variants import MIN_KEY

__all__ = ["MAX_VIEWS", "View", "decode_children", "describe", "encoding_chain", "form_pairs"]


@dataclass(slots=True)
class View:
    """One decoding of observed bytes: the bytes, the step that made them and where they sit.

    Names inside a view (a JSON path, a form field) are resolved only when a canary is found
    there (``describe``): most views hold nothing, and naming costs more than searching.
    """

    data: bytes
    step: str | None  # the decoding that made it from its parent (None: as observed)
    location: str  # the observed location (root) or "" (its parent's, resolved by describe)
    depth: int
    parent: int | None = None
    span: tuple[int, int] | None = None  # where it came from in the parent (None: all of it)
    content_type: str | None = None
    content_encoding: str | None = None
    field: tuple[str, str] | None = None  # (container, name): a field of its parent
    #: ``data`` is a JSON document whose strings appear verbatim: a hit is named by the string
    #: value that holds it.
    json_doc: bool = False
    #: ``data`` is the decoded form or query ``(container, raw)``: a hit is named by its pair.
    form_of: tuple[str, bytes] | None = None
    searched: bool = True  # False: compressed bytes, replaced by their decompressed child
    json_fields: list[tuple[str, bytes]] | None = None  # (path, text), parsed on a hit


_B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(rb"^(?:[0-9a-fA-F]{2})+$")
_PCT = re.compile(rb"%[0-9A-Fa-f]{2}")
_ENTITY = re.compile(rb"&(?:#[0-9]{2,7}|#[xX][0-9a-fA-F]{2,6}|[A-Za-z]{2,8});")
_FORM = re.compile(rb"^[\w.\-\[\]%]{1,64}=[^&\s]*(?:&[\w.\-\[\]%]{1,64}=?[^&\s]*)*$")
_PADDED = re.compile(rb"^[A-Za-z0-9+/_-]+={1,2}$")  # base64 padding, not a form field
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n" + bytes(range(0x80, 0x100))
MAX_VIEWS = 4096
_MAX_CHILDREN = 512


def _texty(data: bytes) -> bool:
    """Plausibly text (most bytes printable, valid UTF-8): worth decoding further."""
    if len(data) < 4:
        return False
    if len(data.translate(None, _PRINTABLE)) * 10 > len(data):
        return False
    if data.isascii():
        return True
    # Valid UTF-8 loses nothing when invalid bytes are dropped (no exception: most runs
    # decode to random bytes, and raising costs more than decoding).
    return len(data.decode("utf-8", "ignore").encode("utf-8", "surrogatepass")) == len(data)


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
            if len(node) >= MIN_KEY:
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


def encoding_chain(chain: str, decoding: Sequence[str]) -> str:
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


def decode_children(view: View, budget: list[int]) -> list[View]:
    """The next decoding layer of ``view``; the children take their bytes from ``budget[0]``.

    Only what decoding changes becomes a child: a JSON string or form value that appears as it
    is in ``view`` is searched there (and named when a canary is found in it), so a body is
    searched about once however many fields it has.
    """
    data = view.data
    if len(data) < MIN_KEY:
        return []
    if view.depth > 0 and not view.content_type and not _may_decode(data):
        return []
    out: list[View] = []

    def child(
        payload: bytes,
        step: str | None,
        span: tuple[int, int] | None = None,
        *,
        field: tuple[str, str] | None = None,
        ctype: str | None = None,
        skip: int = 1,
    ) -> View | None:
        if len(out) >= _MAX_CHILDREN or budget[0] <= 0 or len(payload) < MIN_KEY:
            return None
        budget[0] -= len(payload)
        kid = View(payload, step, "", view.depth + skip, None, span, ctype, field=field)
        out.append(kid)
        return kid

    if view.form_of is not None:  # a form decoded by the parent's layer
        _form_values(view, child)
        return out
    # Compression: by Content-Encoding, else by magic bytes. The compressed bytes say
    # nothing else, so a decompressed child replaces every other decoding (and the
    # compressed bytes are not searched).
    codings = [c.strip().lower() for c in (view.content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    magic = _compressed_magic(data)
    for coding in [*reversed(codings), *([magic] if magic else [])]:
        plain = _decompress(data, coding, max(budget[0], 0))
        if plain:
            label = "gzip" if coding == "x-gzip" else coding
            if child(plain, label, ctype=view.content_type) is not None:
                view.searched = False
            return out

    ctype = (view.content_type or "").lower()
    stripped = data.lstrip()
    # JSON: strings that decoding changes (escapes) or that hold more encodings become
    # children; the rest are searched in place. A value's path is found only for a hit.
    if stripped[:1] in (b"{", b"[") and stripped.rstrip()[-1:] in (b"}", b"]"):
        view.json_doc = True
        taken: list[tuple[int, int]] = []
        special = any(c in data for c in _JSON_SPECIALS)  # a few memchr: faster than a regex
        strings = _JSON_STRING_TO_DECODE.finditer(data) if special else ()
        for m in strings:
            raw = m.group(1)
            if b"\\" in raw:
                try:
                    text = json.loads(b'"' + raw + b'"')
                except ValueError:
                    continue
                payload = text.encode("utf-8", "surrogatepass")
            else:
                payload = raw
            if child(payload, None, m.span(1)) is not None:
                taken.append(m.span(1))
        _runs(view, child, taken, skip=2)  # a string counts as a layer, as it did when each was one
        return out
    # Multipart: each part with its own headers.
    boundary = None
    bm = re.search(r'boundary="?([^";,]+)"?', view.content_type or "")
    if bm:
        boundary = bm.group(1).encode("latin-1", "replace")
    elif data.startswith(b"--"):
        first = data.split(b"\n", 1)[0].rstrip(b"\r")
        if 4 < len(first) < 200 and b" " not in first:
            boundary = first[2:]
    structured = False
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
                field=("multipart", name),
                ctype=pm.group(1).decode("latin-1") if pm else None,
            )
    if structured:
        return out
    # URL query (and fragment), form bodies, cookies.
    low_loc = view.location.lower()
    region: tuple[int, int] | None = None
    container = "form"
    at_root = view.depth == 0
    if (at_root and low_loc.startswith("url")) or stripped[:8].lower().startswith(
        (b"http://", b"https://", b"ws://", b"wss://", b"/")
    ):
        qm = _QUERY_START.search(data)
        if qm is not None:
            region, container = (qm.end(), len(data)), "query"
        elif at_root and low_loc.startswith("url") and _looks_like_form(stripped.strip()):
            region, container = _strip_span(data), "query"
    elif at_root and "cookie" in low_loc:
        for pair in data.split(b";"):
            name_b, eq, value = pair.strip().partition(b"=")
            if eq:
                structured = True
                name = name_b.decode("utf-8", "replace")
                child(value, f"cookie:{name}", field=("cookie", name))
        if structured:
            return out
    elif "x-www-form-urlencoded" in ctype or _looks_like_form(stripped.strip()):
        region = _strip_span(data)
    if region is not None:
        start, end = region
        raw = data[start:end]
        if container == "query":
            raw = raw.replace(b"#", b"&")
        decoded = _unquote_plus(raw)
        if region == (0, len(data)) and decoded == raw:
            view.form_of = (container, raw)  # nothing to decode: searched and named in place
            _form_values(view, child, skip=2)
        else:
            kid = child(decoded, None, region)
            if kid is not None:
                kid.form_of = (container, raw)
        return out
    # Free text: percent-encoded and entity-encoded tokens, then base64 and hex chunks.
    _text(view, child)
    _runs(view, child, [])
    return out


class _Child(Protocol):
    def __call__(
        self,
        payload: bytes,
        step: str | None,
        span: tuple[int, int] | None = None,
        *,
        field: tuple[str, str] | None = None,
        ctype: str | None = None,
        skip: int = 1,
    ) -> View | None: ...


# A JSON string (its content in group 1) that holds an escape or a character an encoding uses.
_JSON_STRING_TO_DECODE = re.compile(rb'"([^"\\%&=?#;]*(?:[%&=?#;]|\\.)(?:[^"\\]|\\.)*)"', re.S)
_JSON_SPECIALS = (b"\\", b"%", b"&", b"=", b"?", b"#", b";")
_QUERY_START = re.compile(rb"[?#]")
# Markup's own escapes: a value is found through them without decoding (the variant pool
# holds html() of every form), and every page has them.
_MARKUP_ENTITY = re.compile(rb"&(?:amp|lt|gt|quot|apos|#39|#34);")
# A decoded form value that is itself a container or still encoded.
_NESTED_VALUE = re.compile(
    rb"\s*[\[{\"]|(?:https?|wss?)://|/|.*?(?:%[0-9A-Fa-f]{2}|&#|&[A-Za-z]{2,8};)", re.S
)


def _strip_span(data: bytes) -> tuple[int, int]:
    start = len(data) - len(data.lstrip())
    return start, len(data.rstrip())


def _unquote(raw: bytes) -> bytes:
    """Percent-decoding as ``unquote_to_bytes``, by the C escape decoder (6x faster)."""
    if b"%" not in raw:
        return raw
    try:
        escaped = raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x")
        return escaped.decode("unicode_escape").encode("latin-1")
    except UnicodeDecodeError:  # a "%" not followed by two hex digits: kept as it is
        return unquote_to_bytes(raw)


def _unquote_plus(raw: bytes) -> bytes:
    return _unquote(raw.replace(b"+", b" "))


def form_pairs(raw: bytes) -> list[tuple[int, int, int, str]]:
    """(start, value start, end, name) of each pair, in the decoded form's coordinates."""
    pairs: list[tuple[int, int, int, str]] = []
    pos = 0
    for piece in raw.split(b"&"):
        decoded = _unquote_plus(piece)
        name_b, eq, _value = piece.partition(b"=")
        name = _unquote_plus(name_b).decode("utf-8", "replace")
        value_at = pos + len(_unquote_plus(name_b)) + len(eq)
        pairs.append((pos, value_at, pos + len(decoded), name))
        pos += len(decoded) + 1
    return pairs


def _form_values(view: View, child: _Child, skip: int = 1) -> None:
    """A decoded form: values that are containers or still encoded become children; base64
    and hex chunks of the rest are decoded from the whole."""
    assert view.form_of is not None
    raw = view.form_of[1]
    data = view.data
    taken: list[tuple[int, int]] = []
    nested = data.count(b"=") > raw.count(b"=") or _NESTED_VALUE_HINT.search(data) is not None
    if nested:
        for _start, value_at, end, _name in form_pairs(raw):
            value = data[value_at:end]
            if len(value) >= MIN_KEY and (
                _NESTED_VALUE.match(value) is not None or _looks_like_form(value)
            ):
                if child(value, None, (value_at, end), skip=skip) is not None:
                    taken.append((value_at, end))
    _runs(view, child, taken, skip=skip)


_NESTED_VALUE_HINT = re.compile(
    rb"=\s*[\[{\"/]|=(?:https?|wss?)://|%[0-9A-Fa-f]{2}|&#|&[A-Za-z]{2,8};"
)


def _text(view: View, child: _Child) -> None:
    """Tokens of free text that hold percent-escapes or character references, decoded."""
    data = view.data
    if b"%" in data:
        for start, end in _token_spans(data, _PCT.finditer(data), _PCT_STOPS, _PCT_TAIL):
            decoded = _unquote(data[start:end])
            child(decoded, "pct", (start, end))
    if b"&" in data:
        refs = (m for m in _ENTITY.finditer(data) if not _MARKUP_ENTITY.match(m.group()))
        for start, end in _token_spans(data, refs, _TEXT_STOPS, _TEXT_TAIL):
            text = data[start:end].decode("utf-8", "replace")
            unescaped = html.unescape(text)
            if unescaped != text:
                child(unescaped.encode("utf-8"), "html", (start, end))


def _token_spans(
    data: bytes, escapes: Iterable[re.Match[bytes]], stops: bytes, tail: re.Pattern[bytes]
) -> Iterator[tuple[int, int]]:
    """The token around each escape: from the last ``stops`` byte before it to the next."""
    end = -1
    for m in escapes:
        if m.start() < end:
            continue  # inside the previous token
        start = max(data.rfind(bytes((c,)), 0, m.start()) for c in stops) + 1
        tail_match = tail.match(data, m.start())
        end = tail_match.end() if tail_match is not None else m.end()
        yield start, end


_PCT_STOPS = b" \t\r\n\"'<>()"
_PCT_TAIL = re.compile(rb"[^\s\"'<>()]*")
_TEXT_STOPS = b"\"'<>"
_TEXT_TAIL = re.compile(rb"[^\"'<>]*")


def _runs(view: View, child: _Child, taken: list[tuple[int, int]], skip: int = 1) -> None:
    """Base64 and hex chunks of ``view`` outside the ``taken`` spans (decoded on their own)."""
    data = view.data
    # Runs are found on a copy where every base64 character is "a" (and "=" stays): a
    # literal pattern is searched far faster than a character class (the same runs as
    # ``_B64_RUN``, with their "=" padding, at most two).
    a2b = binascii.a2b_base64
    for m in _RUN_OF_A.finditer(data.translate(_RUN_MAP)):
        start, end = m.span()
        run = data[start:end]
        if run.islower() or run.isupper() or run.isdigit():
            if len(run) % 2 or not _HEX_RUN.match(run):
                continue  # an identifier, neither hex nor base64 (``_decode_run``'s first test)
        elif not len(run) % 4 and b"-" not in run and b"_" not in run:
            # Whole, standard base64 (most runs: tokens and nonces of random bytes): the one
            # alignment ``_decode_run`` would try, tried here without its general path; only a
            # run worth decoding goes on to it (measured: half of the decoding scan's time went
            # to rejecting random tokens).
            try:
                if not _worth_decoding(a2b(run)):
                    continue
            except binascii.Error:
                continue
        if taken and any(s <= start < e for s, e in taken):
            continue  # decoded already as the field it is (cheaper than decoding it again)
        decoded_run = _decode_run(run)
        if decoded_run is None:
            continue
        child(decoded_run[1], decoded_run[0], (start, end), skip=skip)


_RUN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_RUN_MAP = bytes(0x61 if i in _RUN_CHARS else i if i == 0x3D else 0x20 for i in range(256))
_RUN_OF_A = re.compile(b"a" * 16 + b"+={0,2}")


def describe(views: Sequence[View], vid: int, start: int, end: int) -> tuple[tuple[str, ...], str]:
    """(decoding steps, location) of ``views[vid].data[start:end]``."""
    view = views[vid]
    if view.parent is None:
        steps: tuple[str, ...] = ()
        location = view.location
    else:
        parent = views[view.parent]
        s, e = view.span if view.span is not None else (0, len(parent.data))
        steps, location = describe(views, view.parent, s, e)
        if view.step is not None:
            steps = (*steps, view.step)
        if view.field is not None:
            location = _field_location(location, *view.field)
    if view.json_doc:
        path = _json_path_of(view, view.data[start:end])
        if path is not None:
            steps, location = (*steps, f"json:{path}"), f"{location}:{path}"
    elif view.form_of is not None:
        container, raw = view.form_of
        for pair_start, _value_at, pair_end, name in form_pairs(raw):
            if pair_start <= start <= pair_end:
                steps = (*steps, f"{container}:{name}")
                location = _field_location(location, container, name)
                break
    return steps, location


def _json_path_of(view: View, found: bytes) -> str | None:
    """The path of the first string value of a JSON view that holds ``found``."""
    if view.json_fields is None:
        try:
            doc = json.loads(view.data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            doc = None
        view.json_fields = [
            (path, text.encode("utf-8", "surrogatepass")) for path, text in _json_strings(doc)
        ]
    needles = [found]
    if b"\\" in found:
        try:
            needles.append(json.loads(b'"' + found + b'"').encode("utf-8", "surrogatepass"))
        except ValueError:
            pass
    for needle in needles:
        for path, text in view.json_fields:
            if needle in text:
                return path
    return None


_URLSAFE = bytes.maketrans(b"-_", b"+/")


@functools.lru_cache(maxsize=4096)  # session ids and tokens repeat across flows
def _decode_run(run: bytes) -> tuple[str, bytes] | None:
    """("hex" or "base64", text) when ``run`` decodes to text (or compressed data)."""
    if run.islower() or run.isupper() or run.isdigit():
        # Base64 of anything is mixed-case: this is hex or an identifier.
        if len(run) % 2 or not _HEX_RUN.match(run):
            return None
        payload = binascii.unhexlify(run)
        return ("hex", payload) if _worth_decoding(payload) else None  # else a hex digest
    body = run.rstrip(b"=")
    urlsafe = b"-" in body or b"_" in body
    if urlsafe:
        if b"+" in body or b"/" in body:
            return None
        body = body.translate(_URLSAFE)
    # The run may start mid-token: try each of the four character alignments.
    shifts = 4 if len(body) >= 24 and len(run) % 4 else 1
    for skip in range(shifts):
        chunk = body[skip:]
        chunk = chunk[: len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
        try:
            payload = binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4))
        except binascii.Error:
            continue
        if _worth_decoding(payload):
            return "base64", payload
    return None


def _worth_decoding(payload: bytes) -> bool:
    """``_texty(payload) or _compressed_magic(payload)`` in one call: it runs for every
    base64/hex run, and most are random tokens."""
    size = len(payload)
    if (
        size >= 4
        and len(payload.translate(None, _PRINTABLE)) * 10 <= size
        and (
            payload.isascii()
            or len(payload.decode("utf-8", "ignore").encode("utf-8", "surrogatepass")) == size
        )
    ):
        return True
    return payload[:2] == b"\x1f\x8b" or (
        size > 2 and payload[0] == 0x78 and ((payload[0] << 8) | payload[1]) % 31 == 0
    )
