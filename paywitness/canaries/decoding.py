"""Wire decoding: what a flow's bytes say under compression, JSON, form, multipart, query,
cookies, percent-encoding, HTML entities, base64 and hex, one layer at a time."""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import brotli

from paywitness.canaries.variants import MIN_KEY

__all__ = ["MAX_VIEWS", "View", "decode_children", "encoding_chain"]


@dataclass(slots=True)
class View:
    """One decoding of observed bytes: the text, how it was reached and where it sits."""

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
    """The next decoding layer of ``view``; the children take their bytes from ``budget[0]``."""
    data = view.data
    if len(data) < MIN_KEY:
        return []
    if view.depth > 0 and not view.content_type and not _may_decode(data):
        return []
    out: list[View] = []

    def child(
        payload: bytes,
        step: str,
        location: str | None = None,
        span: tuple[int, int] | None = None,
        ctype: str | None = None,
    ) -> None:
        if len(out) >= _MAX_CHILDREN or budget[0] <= 0 or len(payload) < MIN_KEY:
            return
        budget[0] -= len(payload)
        out.append(
            View(
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
        decoded_run = _decode_run(run)
        if decoded_run is not None:
            step, payload = decoded_run
            child(payload, step, span=(m.start(), m.end()))
    return out


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
