"""`run.json`: what ran, with what, when: tool and commit, profile hash, browser, proxy CA."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from paywitness.evidence.provenance import hosts_reached, tool_versions
from paywitness.ledger import read_ledgers
from paywitness.run import LEDGER_GLOB, RunContext

__all__ = [
    "BROWSER_GLOB",
    "CA_DIR",
    "PROFILE_COPY",
    "RUN_NAME",
    "ca_fingerprints",
    "git_info",
    "record_browser",
    "save_ca_cert",
    "shard_of_command",
    "write_run_json",
]

RUN_NAME = "run.json"
CA_DIR = "ca"
BROWSER_GLOB = ".browser-*.json"
PROFILE_COPY = "profile.yaml"


def git_info(root: Path) -> dict[str, Any] | None:
    """Commit and dirty flag of the paywitness checkout; None outside a git checkout."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            [git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            [git, "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def save_ca_cert(output: Path, worker: str, ca_cert: Path) -> Path:
    """Copy the proxy CA's public certificate (never its key) into the bundle."""
    cert = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    dest = output / CA_DIR / f"proxy-ca-{worker}.pem"
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Re-encoded from the parsed certificate: whatever else the file held stays behind.
    dest.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return dest


def ca_fingerprints(bundle: Path) -> list[dict[str, str]]:
    out = []
    for pem in sorted((bundle / CA_DIR).glob("*.pem")):
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        der = cert.public_bytes(serialization.Encoding.DER)
        out.append(
            {
                "file": pem.relative_to(bundle).as_posix(),
                "subject": cert.subject.rfc4514_string(),
                "sha256": hashlib.sha256(der).hexdigest(),
            }
        )
    return out


def record_browser(output: Path, worker: str, info: dict[str, Any]) -> None:
    """Note the browser a worker used; folded into run.json when the run ends."""
    path = output / f".browser-{worker}.json"
    if not path.exists():
        path.write_text(json.dumps(info, sort_keys=True), encoding="utf-8")


def _browsers(bundle: Path) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for path in sorted(bundle.glob(BROWSER_GLOB)):
        info = json.loads(path.read_text(encoding="utf-8"))
        path.unlink()
        if info not in seen:
            seen.append(info)
    return seen


def shard_of_command(command: Sequence[str]) -> str | None:
    """The `I/N` a run was limited to, from its command line (CLI or pytest spelling)."""
    args = [str(a) for a in command]
    for i, arg in enumerate(args):
        for flag in ("--shard", "--paywitness-shard"):
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def write_run_json(run: RunContext, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write run.json for a finished run and copy its profile in; returns what was written."""
    out = run.output
    root = Path(__file__).resolve().parents[2]
    if not (out / PROFILE_COPY).exists():
        shutil.copyfile(run.profile_path, out / PROFILE_COPY)
    meta = run.meta()
    data = {
        **meta,
        # One id per run (each shard of a nightly run is its own run): merge refuses it twice.
        "run_id": uuid.uuid4().hex,
        "shard": shard_of_command(meta.get("command") or []),
        "git": git_info(root),
        "profile": {**meta["profile"], "copy": PROFILE_COPY},
        "browsers": _browsers(out),
        "proxy_ca": ca_fingerprints(out),
        **(extra or {}),
    }
    # The clause each category or check enforces (profile `regulation:`), for every report.
    data["regulation"] = {
        k: v.model_dump(exclude_none=True) for k, v in run.profile.regulation.items()
    }
    data["provenance"] = {
        "versions": tool_versions(data["browsers"]),
        "hosts": hosts_reached(read_ledgers(sorted(out.glob(LEDGER_GLOB)))),
    }
    (out / RUN_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    return data
