"""Host and path patterns used by profiles: compiled once, matched per flow."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compile_host_pattern", "compile_path_pattern", "host_matches", "path_matches"]

_HOST_PATTERN = re.compile(
    r"^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$"
)
_PATH_CHARS = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]*$")


@lru_cache(maxsize=1024)
def compile_host_pattern(pattern: str) -> re.Pattern[str]:
    """`api.shop.com` matches itself; `*.shop.com` matches any subdomain (not the apex); `*` all."""
    p = pattern.strip().lower()
    if not _HOST_PATTERN.match(p):
        raise ValueError(
            f"{pattern!r} is not a host pattern (expected e.g. 'api.example.com', "
            "'*.example.com' or '*')"
        )
    if p == "*":
        return re.compile(r"^.+$")
    if p.startswith("*."):
        return re.compile(r"^(?:[a-z0-9-]+\.)+" + re.escape(p[2:]) + r"$")
    return re.compile("^" + re.escape(p) + "$")


@lru_cache(maxsize=1024)
def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """Glob over the URL path: `*` is one path segment (or part of it), `**` any number of them."""
    if not pattern.startswith("/"):
        raise ValueError(
            f"{pattern!r} is not a path pattern (it must start with '/', e.g. '/api/*')"
        )
    if not _PATH_CHARS.match(pattern):
        raise ValueError(
            f"{pattern!r} is not a path pattern (letters, digits, '/', '*' and URL-safe "
            "punctuation only)"
        )
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def host_matches(pattern: str, host: str) -> bool:
    return compile_host_pattern(pattern).match(host.lower().rstrip(".")) is not None


def path_matches(pattern: str, path: str) -> bool:
    return compile_path_pattern(pattern).match(path.split("?", 1)[0]) is not None
