"""Server identity: what the server actually dialled proves about who answered."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paywitness.profile import IdentitySpec

__all__ = ["ServerIdentity", "identity_matches"]


@dataclass(frozen=True)
class ServerIdentity:
    """The dialled address, the upstream certificate's organisation and the response headers."""

    address: str | None = None  # "IP:PORT" or "[IPv6]:PORT" as recorded
    organization: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ip(self) -> str | None:
        if not self.address:
            return None
        host = self.address.rsplit(":", 1)[0]
        return host.strip("[]")

    def describe(self) -> dict[str, Any]:
        """The identity as a finding shows it (headers only by name: values may be long)."""
        out: dict[str, Any] = {"address": self.address, "organization": self.organization}
        return {k: v for k, v in out.items() if v is not None}


def _in_networks(ip: str | None, networks: list[str]) -> bool:
    if ip is None:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(n) for n in networks)


def identity_matches(spec: IdentitySpec, identity: ServerIdentity) -> bool:
    """Every kind the spec lists matches (kinds it leaves empty are not checked)."""
    if spec.organizations and identity.organization not in spec.organizations:
        return False
    if spec.networks and not _in_networks(identity.ip, spec.networks):
        return False
    headers = {k.lower(): v for k, v in identity.headers.items()}
    for name, glob in spec.headers.items():
        value = headers.get(name.lower())
        if value is None or not fnmatch.fnmatchcase(value, glob):
            return False
    return True
