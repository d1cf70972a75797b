"""Masking of everything the bundle stores: cookies, credentials, tokens, cards and canaries.

A masked secret keeps a salted-hash prefix (`[masked:1a2b3c4d5e6f]`), a masked canary keeps its
kind and salted-hash prefix (`[canary:email:1a2b3c4d]`): the same value masks the same way, so a
match can be proven with the salt stored in the bundle without disclosing the value.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from paywitness.canaries import Canary, CanaryScanner, CanarySet, new_salt, redact_with
from paywitness.redact import SECRET_PARAM, mask_card_numbers, redact_url

__all__ = ["CANARIES_FILE", "SECRET_HEADERS", "Redactor"]

CANARIES_FILE = "canaries.jsonl"

#: Headers whose whole value is a credential.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-session-id",
    }
)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# "token": "value" in JSON, token=value in forms and query strings.
_JSON_SECRET = re.compile(
    r'("(?:[A-Za-z0-9_-]*?)(?:token|session|secret|password|passwd|auth|cvc|cvv|otp|api_?key)'
    r'(?:[A-Za-z0-9_-]*)"\s*:\s*)"([^"\\]{1,4096})"',
    re.IGNORECASE,
)
# Every `name=value` pair, then the name tested on its own: one linear pass. (A single pattern
# with the secret words inside the name backtracked at every word start: ~60 ms per 64 KB.)
_FORM_PAIR = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z0-9_-]+=)([^&=\s\"'<>]{1,4096})")
# The same two for texts joined by NUL (`Redactor.texts`): a value never runs on past its text.
_JSON_SECRET_JOINED = re.compile(
    _JSON_SECRET.pattern.replace('[^"\\\\]', '[^"\\\\\\x00]'), re.IGNORECASE
)
_FORM_PAIR_JOINED = re.compile(_FORM_PAIR.pattern.replace("<>]", "<>\\x00]"))
assert _JSON_SECRET_JOINED.pattern != _JSON_SECRET.pattern  # an edit must keep the NUL out
assert _FORM_PAIR_JOINED.pattern != _FORM_PAIR.pattern
_FORM_SECRET_NAME = re.compile(r"token|session|secret|password|passwd|cvc|cvv|otp", re.IGNORECASE)


class Redactor:
    """Masks secrets and this run's canaries in text, headers, cookies and HAR entries."""

    def __init__(self, salt: bytes | None = None) -> None:
        self.salt = salt if salt is not None else new_salt()
        self._canaries: dict[Canary, None] = {}  # an ordered set: the order they were added
        #: Scanners over disjoint batches of canaries, largest first, each at least twice the
        #: next but the newest: a run adds a few canaries per test, and rebuilding one scanner
        #: over all of them each time would cost the run time quadratic in its tests. Here every
        #: canary is rebuilt into a scanner O(log n) times and a text passes O(log n) scanners.
        #: The newest batch keeps a scanner of its own: it is the test's canary set, so the
        #: proxy's canary watch gets the same scanner from the shared cache instead of a build.
        self._scanners: tuple[CanaryScanner, ...] = ()
        self._lock = threading.Lock()

    # -- canaries -----------------------------------------------------------------------------
    def add_canaries(self, canaries: Iterable[Canary]) -> CanarySet:
        """Mask these values from now on; returns them as a set under this run's salt."""
        with self._lock:
            requested = tuple(dict.fromkeys(canaries))
            new = [c for c in requested if c not in self._canaries]
            if new:
                self._canaries.update(dict.fromkeys(new))
                levels = list(self._scanners)
                while len(levels) >= 2 and 2 * _size(levels[-1]) >= _size(levels[-2]):
                    last = levels.pop()
                    merged = (*levels.pop().canary_set.canaries, *last.canary_set.canaries)
                    levels.append(CanaryScanner(CanarySet(tuple(dict.fromkeys(merged)), self.salt)))
                # All the requested values (a city two buyers share included): the same set the
                # test's canary watch asks for.
                levels.append(CanaryScanner(CanarySet(requested, self.salt)))
                self._scanners = tuple(levels)  # one swap: readers see old or new, whole
        return CanarySet(tuple(new), self.salt)

    def canary_set(self) -> CanarySet:
        return CanarySet(tuple(self._canaries), self.salt)

    def planted_values(self) -> list[str]:
        """Every canary value added so far, oldest first."""
        return [c.value for c in self._canaries]

    def write_canaries(self, path: Path, canaries: CanarySet, **context: Any) -> None:
        """Append kinds and salted hashes (never values) plus the salt to a JSONL file."""
        line = {**context, **canaries.manifest()}
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True) + "\n")

    # -- primitives ---------------------------------------------------------------------------
    def digest(self, value: str) -> str:
        return hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()

    def mask(self, value: str) -> str:
        """A whole secret value: replaced by a salted-hash prefix (equal values, equal masks)."""
        if not value:
            return value
        return f"[masked:{self.digest(value)[:12]}]"

    def text(self, text: str) -> str:
        """Free text: canaries, card numbers, bearer/JWT tokens, secret-named fields masked."""
        if not text:
            return text
        scanners = self._scanners
        out = redact_with(scanners, text) if scanners else mask_card_numbers(text)
        return self._secrets(out)

    def texts(self, items: Sequence[str]) -> list[str]:
        """Several free texts, each masked as `text` masks it, with one pass of the canary
        scanners over all of them: a HAR entry's header values, URL and bodies cost one pass
        instead of forty (no canary or card span crosses the NUL that joins them)."""
        scanners = self._scanners
        if not scanners or len(items) < 2 or any("\x00" in t for t in items):
            return [self.text(t) for t in items]
        # Every rule after the canaries is also applied once to the joined text: none of their
        # matches can cross a NUL (the two whose values could are compiled without it).
        joined = self._secrets(redact_with(scanners, "\x00".join(items)), joined=True)
        parts = joined.split("\x00")
        if len(parts) != len(items):  # a mask label never holds a NUL; never trust a miscount
            return [self.text(t) for t in items]
        return parts

    def _secrets(self, out: str, *, joined: bool = False) -> str:
        """Bearer/JWT tokens and secret-named JSON or form fields of already canary-masked text."""
        lowered = out.lower()
        if "bearer" in lowered or "basic" in lowered or "token" in lowered:  # cheap pre-check
            out = _BEARER.sub(lambda m: f"{m.group(1)} {self.mask(m.group(0))}", out)
        out = _JWT.sub(lambda m: self.mask(m.group(0)), out)
        json_secret, form_pair = (
            (_JSON_SECRET_JOINED, _FORM_PAIR_JOINED) if joined else (_JSON_SECRET, _FORM_PAIR)
        )
        out = json_secret.sub(lambda m: f'{m.group(1)}"{self.mask(m.group(2))}"', out)
        return form_pair.sub(self._form_pair, out)

    def _form_pair(self, m: re.Match[str]) -> str:
        if _FORM_SECRET_NAME.search(m.group(1)):
            return m.group(1) + self.mask(m.group(2))
        return m.group(0)

    def url(self, url: str) -> str:
        return self.text(redact_url(url))

    def header(self, name: str, value: str) -> str:
        return self.mask(value) if _secret_header(name) else self.text(value)

    def param(self, name: str, value: str) -> str:
        return self.mask(value) if _secret_param(name, value) else self.text(value)

    # -- HAR ----------------------------------------------------------------------------------
    def har_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A HAR entry with every header, cookie, parameter, URL and body masked in place:
        secrets by name each on its own, every free text in one `texts` pass."""
        free: list[tuple[dict[str, Any], str]] = []  # (holder, key) of a free text

        def later(holder: dict[str, Any], key: str, text: str) -> None:
            holder[key] = text  # as `text` gives an empty one back; the rest masked below
            if text:
                free.append((holder, key))

        def pairs(items: list[dict[str, Any]], secret: Callable[[str, str], bool]) -> None:
            for item in items:
                value = str(item["value"])
                if secret(item["name"], value):
                    item["value"] = self.mask(value)
                else:
                    later(item, "value", value)

        for side in ("request", "response"):
            msg = entry.get(side) or {}
            pairs(msg.get("headers", []), lambda name, _value: _secret_header(name))
            for c in msg.get("cookies", []):
                c["value"] = self.mask(str(c["value"]))
            pairs(msg.get("queryString", []), _secret_param)
        req = entry.get("request") or {}
        if "url" in req:
            later(req, "url", redact_url(req["url"]))
        post = req.get("postData")
        if post:
            later(post, "text", post.get("text") or "")
            pairs(post.get("params", []), _secret_param)
        resp = entry.get("response") or {}
        if resp.get("redirectURL"):
            later(resp, "redirectURL", redact_url(resp["redirectURL"]))
        content = resp.get("content") or {}
        if content.get("text"):
            later(content, "text", content["text"])
        for msg in entry.get("_webSocketMessages", []):
            if isinstance(msg.get("data"), str):
                later(msg, "data", msg["data"])
        masked = self.texts([holder[key] for holder, key in free])
        for (holder, key), text in zip(free, masked, strict=True):
            holder[key] = text
        return entry


def _secret_header(name: str) -> bool:
    """A header whose whole value is a secret (credentials, session ids), masked by name."""
    return name.lower() in SECRET_HEADERS or bool(SECRET_PARAM.search(name))


def _secret_param(name: str, value: str) -> bool:
    """A form or query parameter whose non-empty value is a secret, masked by name."""
    return bool(value) and bool(SECRET_PARAM.search(name))


def _size(scanner: CanaryScanner) -> int:
    return len(scanner.canary_set.canaries)
