"""This run's own CA, named so that a person can find and remove it: "paywitness run <date> <id>".

mitmproxy makes its CA (`CN=mitmproxy`) in the confdir on first start unless `mitmproxy-ca.pem`
(key and certificate) is already there; writing ours first in the same format makes the proxy use
it, and the file names (`mitmproxy-ca-cert.pem`, …) stay what the rest of paywitness reads.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["ca_name", "write_run_ca"]

_BASENAME = "mitmproxy"  # the file names mitmproxy's CertStore expects in its confdir
_KEY_SIZE = 2048  # mitmproxy's default key_size option


def ca_name(now: datetime | None = None, short_id: str | None = None) -> str:
    """`paywitness run 2026-11-28 3f9a1c`: the date and a short id of this run."""
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"paywitness run {day} {short_id or secrets.token_hex(3)}"


def write_run_ca(confdir: Path, name: str) -> Path:
    """Write a fresh CA called `name` where mitmproxy looks for one; the certificate's path."""
    from mitmproxy.certs import CertStore

    if (confdir / f"{_BASENAME}-ca.pem").exists():
        raise FileExistsError(f"{confdir} already holds a CA; each run makes its own")
    CertStore.create_store(confdir, _BASENAME, _KEY_SIZE, organization="paywitness", cn=name)
    return confdir / f"{_BASENAME}-ca-cert.pem"
