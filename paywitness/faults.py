"""Fault rules: which requests the proxy makes fail, and how (parsed from a compact syntax).

One rule is space-separated ``key=value`` words; every match key is optional (``role`` and
``endpoint``, a payment endpoint's name in the profile, need the profile)::

    role=gateway method=POST path=/v1/charges status=502 first=1
    endpoint=charge timeout=1500 phase=response first=1
    host=api.commerce.test path=/api/orders/*/pay reset phase=response
    role=gateway path=/v1/charges timeout=3000 phase=response

Exactly one action: ``status=CODE`` (answer 4xx/5xx), ``delay=MS`` (hold, then pass on),
``timeout=MS`` (hold, then drop the connection) or ``reset`` (drop it at once). ``first=N``
fails only the first N matching requests; ``phase=request`` (default) acts before the server is
dialled, ``phase=response`` after it answered (the server did the work, the answer is lost).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from paywitness.patterns import compile_host_pattern, compile_path_pattern, host_matches
from paywitness.patterns import path_matches as _path_matches

__all__ = [
    "FAULT_ACTIONS",
    "FaultAction",
    "FaultPhase",
    "FaultRule",
    "parse_fault_rule",
    "parse_fault_rules",
]

FaultAction = Literal["status", "delay", "timeout", "reset"]
FaultPhase = Literal["request", "response"]
FAULT_ACTIONS: tuple[FaultAction, ...] = ("status", "delay", "timeout", "reset")
_ROLES = ("social", "commerce", "gateway", "third_party", "unknown")
_KEYS = ("role", "endpoint", "host", "method", "path", "first", "phase", *FAULT_ACTIONS)
_MAX_MS = 600_000
_EXAMPLE = "e.g. 'role=gateway method=POST path=/v1/charges status=502 first=1'"


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One parsed rule: what it matches, what it does, and the text it came from."""

    text: str
    action: FaultAction
    status: int = 0
    ms: int = 0
    role: str | None = None
    endpoint: str | None = None
    host: str | None = None
    method: str | None = None
    path: str | None = None
    first: int | None = None
    phase: FaultPhase = "request"

    def matches(
        self, *, role: str | None, host: str, method: str, path: str, endpoint: str | None = None
    ) -> bool:
        """Whether a request (role as classified, host as the client named it) is targeted."""
        if self.role is not None and role != self.role:
            return False
        if self.endpoint is not None and endpoint != self.endpoint:
            return False
        if self.host is not None and not host_matches(self.host, host):
            return False
        if self.method is not None and method.upper() != self.method:
            return False
        return self.path is None or _path_matches(self.path, path)

    def describe(self) -> dict[str, object]:
        """What the ledger shows about an injected fault."""
        out: dict[str, object] = {"rule": self.text, "action": self.action, "phase": self.phase}
        if self.action == "status":
            out["status"] = self.status
        elif self.action in ("delay", "timeout"):
            out["ms"] = self.ms
        return out


def _bad(text: str, why: str) -> ValueError:
    return ValueError(f"fault rule {text!r}: {why} ({_EXAMPLE})")


def _int(text: str, key: str, value: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise _bad(text, f"{key}={value!r} is not a whole number") from None
    if not low <= n <= high:
        raise _bad(text, f"{key}={n} is out of range (use {low}..{high})")
    return n


def parse_fault_rule(text: str) -> FaultRule:
    """Parse one rule; ValueError names the rule, the bad word and the fix."""
    words = text.split()
    if not words:
        raise _bad(text, "the rule is empty")
    seen: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.lower()
        if key not in _KEYS:
            raise _bad(text, f"unknown key {key!r} (known: {', '.join(_KEYS)})")
        if key in seen:
            raise _bad(text, f"{key!r} is given twice")
        if not sep and key != "reset":
            raise _bad(text, f"{key!r} needs a value ({key}=...)")
        if sep and key == "reset":
            raise _bad(text, "'reset' takes no value")
        seen[key] = value
    actions = [k for k in FAULT_ACTIONS if k in seen]
    if len(actions) != 1:
        raise _bad(
            text,
            f"give exactly one action of {', '.join(FAULT_ACTIONS)} "
            f"(got {', '.join(actions) or 'none'})",
        )
    action = actions[0]
    status = _int(text, "status", seen["status"], 400, 599) if action == "status" else 0
    ms = _int(text, action, seen[action], 0, _MAX_MS) if action in ("delay", "timeout") else 0
    role = seen.get("role")
    if role is not None and role not in _ROLES:
        raise _bad(text, f"role={role!r} is not a role (use one of {', '.join(_ROLES)})")
    host = seen.get("host")
    if host is not None:
        try:
            compile_host_pattern(host)
        except ValueError as e:
            raise _bad(text, str(e)) from e
        host = host.lower()
    path = seen.get("path")
    if path is not None:
        try:
            compile_path_pattern(path)
        except ValueError as e:
            raise _bad(text, str(e)) from e
    method = seen.get("method")
    if method is not None:
        method = method.upper()
        if not method.isalpha():
            raise _bad(text, f"method={method!r} is not an HTTP method (e.g. POST)")
    first = _int(text, "first", seen["first"], 1, 1_000_000) if "first" in seen else None
    phase = seen.get("phase", "request")
    if phase not in ("request", "response"):
        raise _bad(text, f"phase={phase!r} is not 'request' or 'response'")
    return FaultRule(
        text=" ".join(words),
        action=action,
        status=status,
        ms=ms,
        role=role,
        endpoint=seen.get("endpoint") or None,
        host=host,
        method=method,
        path=path,
        first=first,
        phase="response" if phase == "response" else "request",
    )


def parse_fault_rules(texts: Iterable[str]) -> list[FaultRule]:
    """Parse rules; an entry may hold several rules separated by ';'."""
    return [
        parse_fault_rule(part)
        for text in texts
        for part in (p.strip() for p in text.split(";"))
        if part
    ]
