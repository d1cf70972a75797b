"""Provenance: how a run was recorded — the servers that answered (their certificate chains,
the addresses dialled, HTTP and TLS versions) and the tools that recorded them.

The recorder notes each upstream connection's certificate chain once (`server_chain` on the
first flow of the connection); this module folds the ledger into one entry per host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from paywitness.ledger import FlowRecord

__all__ = ["describe_chain", "hosts_reached", "tool_versions"]


def _describe(cert: x509.Certificate) -> dict[str, Any]:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "spki_sha256": hashlib.sha256(spki).hexdigest(),
        "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def describe_chain(pems: Iterable[bytes]) -> list[dict[str, Any]]:
    """Subject, issuer, SPKI SHA-256 and validity of each certificate, leaf first."""
    return [_describe(x509.load_pem_x509_certificate(pem)) for pem in pems]


def hosts_reached(records: Sequence[FlowRecord]) -> dict[str, dict[str, Any]]:
    """Per host the target's traffic reached: role(s), addresses dialled, HTTP and TLS versions,
    the distinct certificate chains its servers presented, and how many flows."""
    hosts: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.kind not in ("http", "websocket") or not r.host or r.role == "browser":
            continue
        h = hosts.setdefault(
            r.host,
            {
                "roles": [],
                "addresses": [],
                "http_versions": [],
                "tls": [],
                "chains": [],
                "flows": 0,
            },
        )
        h["flows"] += 1
        for key, value in (
            ("roles", r.role),
            ("addresses", r.server_addr),
            ("http_versions", r.http_version),
            ("tls", r.extra.get("server_tls")),
        ):
            if value and value not in h[key]:
                h[key].append(value)
        chain = r.extra.get("server_chain")
        if chain and chain not in h["chains"]:
            h["chains"].append(chain)
    return dict(sorted(hosts.items()))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def tool_versions(browsers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """paywitness, Playwright, the browser(s) actually used, mitmproxy, pytest, Python."""
    import platform

    from paywitness._version import __version__

    return {
        "paywitness": __version__,
        "playwright": _version("playwright"),
        "pytest-playwright": _version("pytest-playwright"),
        "mitmproxy": _version("mitmproxy"),
        "pytest": _version("pytest"),
        "browsers": [f"{b.get('name', '')} {b.get('version', '')}".strip() for b in browsers],
        "python": platform.python_version(),
    }
