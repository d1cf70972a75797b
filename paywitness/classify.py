"""Classifying a flow: which role served it, by which rule, and whether it is payment-class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paywitness.identity import ServerIdentity, identity_matches
from paywitness.patterns import host_matches, path_matches
from paywitness.profile import Profile

__all__ = ["MARKER_HOST", "Classification", "Classifier", "ServerIdentity"]

# Step marks and other control requests go to this name (RFC 6761: `.invalid` never resolves);
# the recorder answers them itself and they never reach a target.
MARKER_HOST = "paywitness.invalid"


@dataclass(frozen=True, slots=True)
class Classification:
    role: str
    rule: str
    payment_class: str | None
    identity_mismatch: dict[str, Any] | None = None


class Classifier:
    """Pure function object: (host, method, path) -> role, rule and payment endpoint."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._role_rules = [
            (role.name, f"roles[{i}].hosts[{j}]={pattern}", pattern)
            for i, role in enumerate(profile.roles)
            for j, pattern in enumerate(role.hosts)
        ]
        self._noise_rules = [
            (f"noise.hosts[{j}]={pattern}", pattern)
            for j, pattern in enumerate(profile.noise.hosts)
        ]

    def role_of(self, host: str, *, page: bool = False) -> tuple[str, str]:
        """The role a host belongs to, and the rule that said so (first match wins).

        `page`: a page, frame or worker of the target made the request, so it is the target's
        traffic whatever its host: `noise.hosts` does not apply (only the browser's own
        background requests may be noise).
        """
        h = host.lower().rstrip(".")
        if h == MARKER_HOST:
            return "paywitness", "marker"
        for name, rule, pattern in self._role_rules:
            if host_matches(pattern, h):
                return name, rule
        for rule, pattern in self._noise_rules:
            if host_matches(pattern, h):
                return (
                    ("unknown", f"page-request ({rule} not applied)")
                    if page
                    else (
                        "browser",
                        rule,
                    )
                )
        return "unknown", "no-rule"

    def noise_rule(self, host: str) -> str | None:
        """The `noise.hosts` rule a host matches, if any (whatever its role rules say)."""
        h = host.lower().rstrip(".")
        return next((rule for rule, p in self._noise_rules if host_matches(p, h)), None)

    def payment_endpoint(self, host: str, method: str, path: str) -> str | None:
        m = method.upper()
        for ep in self.profile.payment.endpoints:
            if ep.method not in ("*", m):
                continue
            if ep.host is not None and not host_matches(ep.host, host):
                continue
            if path_matches(ep.path, path):
                return ep.name
        return None

    def role_of_identity(self, identity: ServerIdentity) -> tuple[str, str] | None:
        """The first role whose identity rules the server's identity satisfies, if any."""
        for i, role in enumerate(self.profile.roles):
            if role.identity is not None and identity_matches(role.identity, identity):
                return role.name, f"roles[{i}].identity"
        return None

    def classify(
        self,
        host: str,
        method: str,
        path: str,
        identity: ServerIdentity | None = None,
        *,
        page: bool = False,
    ) -> Classification:
        """Role by name; where the server's identity says otherwise, by identity (and say so).

        `page`: the request is known to come from a page of the target (see `role_of`).
        """
        role, rule = self.role_of(host, page=page)
        mismatch: dict[str, Any] | None = None
        if identity is not None and role not in ("browser", "paywitness"):
            role, rule, mismatch = self._by_identity(host, role, rule, identity)
        pay = (
            None if role in ("browser", "paywitness") else self.payment_endpoint(host, method, path)
        )
        return Classification(role=role, rule=rule, payment_class=pay, identity_mismatch=mismatch)

    def _by_identity(
        self, host: str, role: str, rule: str, identity: ServerIdentity
    ) -> tuple[str, str, dict[str, Any] | None]:
        found = self.role_of_identity(identity)
        if found is not None and found[0] == role:
            return role, rule, None
        spec = next((r for r in self.profile.roles if r.name == role), None)
        if found is None and not (spec and spec.identity and spec.identity.require):
            return role, rule, None
        new_role, new_rule = found if found is not None else ("unknown", "identity-required")
        mismatch = {
            "hostname": host,
            "name_role": role,
            "identity_role": new_role,
            "server_identity": identity.describe(),
        }
        return new_role, new_rule, mismatch
