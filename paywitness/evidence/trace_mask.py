"""Masking of Playwright traces: canaries, cookies and credentials, wherever the trace holds them.

A trace zip holds JSON lines (`trace.trace` actions, DOM snapshots, console; `trace.network`
HAR-like entries with cookie arrays and headers), `resources/<sha1>.<ext>` bodies (responses,
post data) and `screencast/` frames, which are dropped (pictures of what the buyer typed).
Cookie arrays and credential headers are masked by their structure; every cookie or
credential value found that way is then masked as a literal wherever else it appears (a DOM
snapshot, a console line, a body); every string and text resource goes through the canary and
secret masker. A masked resource is renamed after the SHA-1 of its new content (the name
promised the content's hash) and every reference to it follows, so the trace still loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, quote_plus

from paywitness.evidence.redaction import SECRET_HEADERS

__all__ = ["TraceMasker", "mask_trace", "trace_problems"]

# Members that are images or fonts stay as they are; everything else that decodes as UTF-8 is
# masked.
_BINARY_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp", ".gif", ".woff", ".woff2", ".ttf", ".ico")
_JSON_MEMBERS = (".trace", ".network", ".stacks", ".json")
# The screencast: frames of the screen as it was, typed card number and address included. The
# trace is recorded with it all the same (it keeps headless Chromium painting after each input
# as a screen would: without it the checkout frame's INP read 490-680 ms instead of 50-70 ms
# under two runs at once), and the masked trace drops it with its frame events.
_SCREENCAST = "screencast/"
#: Shorter cookie values ("1", "yes", "id") are settings, not credentials, and masking them as
#: literals everywhere would shred the trace.
MIN_SECRET_LENGTH = 6
_RESOURCE = re.compile(r"^(?:resources/)?([0-9a-f]{40})(\.[A-Za-z0-9]+)?$")
_COOKIE_PAIR = re.compile(r"(?:^|[;,]\s*)([^=;,\s]+)=([^;,\r\n]*)")
_SET_COOKIE_ATTRS = frozenset(
    {"domain", "path", "expires", "max-age", "samesite", "secure", "httponly", "priority"}
)


@runtime_checkable
class TraceMasker(Protocol):
    """What a trace needs masked: free text, one header, one whole secret value."""

    def text(self, text: str) -> str: ...

    def header(self, name: str, value: str) -> str: ...

    def mask(self, value: str) -> str: ...


class _TextOnly:
    """Adapter for a bare text masker: credentials get an unsalted, unlinkable mask."""

    def __init__(self, mask_text: Callable[[str], str]) -> None:
        self.text = mask_text

    def header(self, name: str, value: str) -> str:
        return self.mask(value) if name.lower() in SECRET_HEADERS else self.text(value)

    def mask(self, value: str) -> str:
        return "[masked]" if value else value


def _cookie_values(header: str, value: str) -> Iterable[str]:
    for m in _COOKIE_PAIR.finditer(value):
        name, val = m.group(1), m.group(2).strip().strip('"')
        if header == "set-cookie" and name.lower() in _SET_COOKIE_ATTRS:
            continue
        yield val


class _Secrets:
    """Credential values seen in a trace, masked as literals (raw and URL-encoded) elsewhere."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) >= MIN_SECRET_LENGTH and not value.startswith("[masked"):
            self.values.add(value)

    def collect(self, value: Any) -> None:
        """Cookie arrays and credential headers anywhere in a trace record."""
        if isinstance(value, list):
            for v in value:
                self.collect(v)
            return
        if not isinstance(value, dict):
            return
        for c in value.get("cookies") or ():
            if isinstance(c, dict) and isinstance(c.get("value"), str):
                self.add(c["value"])
        for h in value.get("headers") or ():
            if not (isinstance(h, dict) and isinstance(h.get("value"), str)):
                continue
            name = str(h.get("name", "")).lower()
            if name in ("cookie", "set-cookie"):
                for v in _cookie_values(name, h["value"]):
                    self.add(v)
            elif name in SECRET_HEADERS:
                self.add(h["value"])
                self.add(h["value"].partition(" ")[2])  # "Bearer <token>": the token alone
        for v in value.values():
            if isinstance(v, dict | list):
                self.collect(v)

    def sub(self, text: str, mask: Callable[[str], str]) -> str:
        if not self.values:
            return text
        if self._pattern is None:
            forms: dict[str, str] = {}
            for v in self.values:
                for form in (v, quote(v, safe=""), quote_plus(v)):
                    forms.setdefault(form, v)
            self._forms = forms
            alternatives = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(a) for a in alternatives))
        return self._pattern.sub(lambda m: mask(self._forms[m.group(0)]), text)


def _mask_record(
    value: Any, masker: TraceMasker, secrets: _Secrets, members: frozenset[str] = frozenset()
) -> Any:
    """One JSON value with cookie arrays, credential headers and every string masked.

    A string that names a member of the zip (a screencast frame `page@<id>-<ms>.jpeg`, a
    resource) is a reference made by Playwright, never a buyer's value: kept as it is, or the
    viewer loses the frame (a millisecond timestamp can look like a card number)."""
    if isinstance(value, str):
        if value in members or f"resources/{value}" in members:
            return value
        return secrets.sub(masker.text(value), masker.mask)
    if isinstance(value, list):
        return [_mask_record(v, masker, secrets, members) for v in value]
    if not isinstance(value, dict):
        return value  # numbers (timestamps look like card numbers) stay numbers
    out: dict[str, Any] = {}
    for k, v in value.items():
        if k == "cookies" and isinstance(v, list):
            out[k] = [
                {**c, "value": masker.mask(c["value"])}
                if isinstance(c, dict) and isinstance(c.get("value"), str)
                else _mask_record(c, masker, secrets, members)
                for c in v
            ]
        elif k == "headers" and isinstance(v, list):
            out[k] = [
                {**h, "value": masker.header(str(h.get("name", "")), h["value"])}
                if isinstance(h, dict) and isinstance(h.get("value"), str)
                else _mask_record(h, masker, secrets, members)
                for h in v
            ]
        else:
            out[k] = _mask_record(v, masker, secrets, members)
    return out


def _json_lines(text: str) -> list[Any | str]:
    """Each line parsed; a line that is not JSON stays text (masked as text)."""
    out: list[Any | str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append(line)
    return out


def _rename_refs(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, str):
        m = _RESOURCE.match(value)
        if m and m.group(1) in renames:
            return value.replace(m.group(1), renames[m.group(1)])
        return value
    if isinstance(value, list):
        return [_rename_refs(v, renames) for v in value]
    if isinstance(value, dict):
        return {k: _rename_refs(v, renames) for k, v in value.items()}
    return value


def mask_trace(path: Path, masker: TraceMasker | Callable[[str], str]) -> int:
    """Rewrite a trace zip with everything secret masked; returns how many members changed.

    `masker` is the run's Redactor (cookies and credentials get its salted masks), or a bare
    text-masking function.
    """
    m: TraceMasker = masker if isinstance(masker, TraceMasker) else _TextOnly(masker)
    with zipfile.ZipFile(path) as src:
        infos = src.infolist()
        raw = {info.filename: src.read(info) for info in infos}
    members = frozenset(raw)
    # Pass 1: every cookie and credential value any record carries.
    secrets = _Secrets()
    parsed: dict[str, list[Any | str]] = {}
    for name, data in raw.items():
        if name.lower().endswith(_JSON_MEMBERS):
            try:
                parsed[name] = _json_lines(data.decode("utf-8"))
            except UnicodeDecodeError:
                continue
            for rec in parsed[name]:
                secrets.collect(rec)
    # Pass 2: resources (bodies) masked and renamed after their new content.
    out: dict[str, bytes] = {}
    renames: dict[str, str] = {}
    changed = 0
    for name, data in raw.items():
        if name.startswith(_SCREENCAST):
            changed += 1
            continue  # pictures of the screen as the buyer typed: no text masking reaches them
        if name in parsed or name.lower().endswith(_BINARY_SUFFIXES):
            out[name] = data
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            out[name] = data
            continue
        masked = secrets.sub(m.text(text), m.mask)
        if masked == text:
            out[name] = data
            continue
        changed += 1
        new = masked.encode("utf-8")
        ref = _RESOURCE.match(name)
        if ref:
            sha1 = hashlib.sha1(new).hexdigest()
            renames[ref.group(1)] = sha1
            name = name.replace(ref.group(1), sha1)
        out[name] = new
    # Pass 3: the JSON lines, masked, with references to renamed resources updated.
    for name, records in parsed.items():
        lines = []
        for rec in records:
            if isinstance(rec, dict) and rec.get("type") == "screencast-frame":
                continue  # its picture is dropped above
            if isinstance(rec, str):
                lines.append(secrets.sub(m.text(rec), m.mask))
            else:
                masked_rec = _rename_refs(_mask_record(rec, m, secrets, members), renames)
                lines.append(json.dumps(masked_rec, separators=(",", ":")))
        text = "".join(line + "\n" for line in lines)
        if text.encode("utf-8") != raw[name]:
            changed += 1
        out[name] = text.encode("utf-8")
    tmp = path.with_name(path.name + ".masking")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in out.items():
            dst.writestr(name, data)
    os.replace(tmp, path)
    return changed


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("_sha1", "_file") and isinstance(v, str):
                yield v if v.startswith("resources/") else f"resources/{v}"
            else:
                yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


def trace_problems(path: Path) -> list[str]:
    """Why a trace zip would not load: unparsable JSON lines, resources it names but lacks."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        return [f"{path.name}: not a zip ({e})"]
    with zf:
        names = set(zf.namelist())
        if not any(n.endswith(".trace") for n in names):
            problems.append(f"{path.name}: no .trace member")
        for name in sorted(n for n in names if n.endswith((".trace", ".network"))):
            for n, line in enumerate(zf.read(name).decode("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    problems.append(f"{path.name}:{name}:{n}: not JSON ({e})")
                    continue
                for ref in _refs(rec):
                    if ref not in names:
                        problems.append(f"{path.name}:{name}:{n}: names {ref}, not in the zip")
    return problems
