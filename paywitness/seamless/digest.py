"""Value digests: match the values a display showed to the response that carried them.

The recorder keeps, for responses of a display's endpoints, a short hash of each named JSON
field (never whole bodies); the probe hashes what the screen showed the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from paywitness.patterns import host_matches, path_matches
from paywitness.profile import DisplaySpec

__all__ = [
    "MAX_OBJECTS",
    "displays_for",
    "parse_shown",
    "response_digest",
    "value_hash",
]

MAX_OBJECTS = 500
_PLAIN_MAX = 40
_INT = re.compile(r"-?\d+")


def _normalise(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def value_hash(value: Any) -> str:
    """A 12-hex-digit digest of a scalar value, the same for `189000`, `189000.0` and "189000"."""
    return hashlib.sha256(_normalise(value).encode()).hexdigest()[:12]


def parse_shown(raw: str | None, parse: str) -> str | None:
    """The value a display showed, normalised like the JSON it came from (None if unreadable)."""
    if raw is None:
        return None
    if parse == "digits":
        digits = "".join(c for c in raw if c.isdigit())
        return digits or None
    if parse == "first-int":
        m = _INT.search(raw)
        return m.group(0) if m else None
    text = " ".join(raw.split())
    return text or None


def displays_for(
    displays: Sequence[DisplaySpec], host: str, method: str, path: str
) -> list[DisplaySpec]:
    """The displays whose endpoints include this request."""
    return [
        d
        for d in displays
        if any(
            (e.method == "*" or e.method.upper() == method.upper())
            and (e.host is None or host_matches(e.host, host))
            and path_matches(e.path, path)
            for e in d.endpoints
        )
    ]


def _objects(data: Any) -> Iterable[dict[str, Any]]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def response_digest(body: bytes, specs: Sequence[DisplaySpec]) -> dict[str, Any] | None:
    """Per JSON object, the hashes of the display fields it holds (plain fields also verbatim)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    fields = {f for s in specs for f in s.digest_fields()}
    plain = {f for s in specs if s.plain or s.expression for f in s.digest_fields()}
    objects: list[dict[str, str]] = []
    truncated = False
    for obj in _objects(data):
        entry: dict[str, str] = {}
        for name in fields:
            value = obj.get(name)
            if value is None or isinstance(value, dict | list):
                continue
            entry[name] = value_hash(value)
            if name in plain:
                entry["=" + name] = _normalise(value)[:_PLAIN_MAX]
        if entry:
            if len(objects) >= MAX_OBJECTS:
                truncated = True
                break
            objects.append(entry)
    return {"displays": sorted(s.name for s in specs), "objects": objects, "truncated": truncated}
