"""Canary files: the raw canary values a standalone proxy scans for (JSON, kept private).

Unlike `canaries.jsonl` in the evidence bundle (salted hashes only), a canary file holds the
values themselves, because a scanner cannot search for a hash it cannot reproduce. It is input
to `mitmdump -s proxy_addons/canary_watch.py --set paywitness_canaries=FILE`, never output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paywitness.canaries import CANARY_KINDS, Canary, CanarySet, new_salt
from paywitness.errors import ConfigError

__all__ = ["read_canary_file", "write_canary_file"]


def write_canary_file(path: Path, canaries: CanarySet) -> None:
    """Write kinds, values and the salt (mode 0600: the file holds the raw values)."""
    data = {
        "salt": canaries.salt.hex(),
        "seed": canaries.seed,
        "canaries": [{"kind": c.kind, "value": c.value} for c in canaries.canaries],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _fail(path: Path, problem: str) -> ConfigError:
    return ConfigError(
        f"canary file {path} {problem}; expected JSON like "
        '{"salt": "<hex>", "canaries": [{"kind": "email", "value": "..."}]} '
        f"with kinds from {', '.join(CANARY_KINDS)}"
    )


def read_canary_file(path: Path) -> CanarySet:
    """The canary set of a file written by `write_canary_file` (or by hand)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise _fail(path, "does not exist") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(path, f"cannot be read ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("canaries"), list):
        raise _fail(path, "has no list `canaries`")
    items: list[Canary] = []
    for i, entry in enumerate(data["canaries"]):
        if not isinstance(entry, dict):
            raise _fail(path, f"entry {i} is not an object")
        try:
            items.append(Canary(str(entry.get("kind")), str(entry.get("value") or "")))  # type: ignore[arg-type]
        except ValueError as e:
            raise _fail(path, f"entry {i}: {e}") from e
    try:
        salt = bytes.fromhex(str(data["salt"])) if data.get("salt") else new_salt()
    except ValueError as e:
        raise _fail(path, f"has a salt that is not hex ({data['salt']!r})") from e
    seed = data.get("seed")
    return CanarySet(tuple(items), salt, int(seed) if isinstance(seed, int) else None)
