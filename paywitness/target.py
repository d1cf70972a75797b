"""Where the proxy sends a target's names: the profile's host overrides plus `--resolve`."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from paywitness.errors import ConfigError
from paywitness.patterns import compile_host_pattern
from paywitness.profile import Profile

__all__ = ["host_overrides", "parse_overrides"]


def parse_overrides(entries: Sequence[str]) -> list[str]:
    """Validate `HOST=SCHEME://ADDRESS:PORT` entries (commas allowed); ConfigError names one."""
    out: list[str] = []
    for raw in entries:
        for entry in filter(None, (e.strip() for e in raw.split(","))):
            name, sep, target = entry.partition("=")
            u = urlsplit(target)
            try:
                port = u.port
                compile_host_pattern(name)
            except ValueError as e:
                raise ConfigError(f"--resolve {entry!r}: {e}") from e
            if not sep or u.scheme not in ("http", "https") or not u.hostname or port is None:
                raise ConfigError(
                    f"--resolve {entry!r} is not HOST=SCHEME://ADDRESS:PORT "
                    "(e.g. shop.example.com=https://127.0.0.1:8443)"
                )
            out.append(f"{name.lower()}={target}")
    return out


def host_overrides(profile: Profile, resolve: Sequence[str] = ()) -> list[str]:
    """Host map entries: command-line `--resolve` first (first match wins), then the profile's."""
    return [*parse_overrides(resolve), *(f"{h}={t}" for h, t in profile.host_overrides.items())]
