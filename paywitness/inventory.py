"""A run's inventory (hosts, payment-class endpoints, scripts per role) and drift between runs.

In the spirit of PCI DSS 11.6.1 change detection: what a checkout loads and calls should only
change on purpose, so each run stores what it saw and `paywitness drift A B` lists the change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paywitness.errors import ConfigError
from paywitness.ledger import FlowRecord, read_ledgers

__all__ = [
    "INVENTORY_FILE",
    "Drift",
    "build_inventory",
    "diff_inventories",
    "drift_main",
    "load_inventory",
    "write_inventory",
]

INVENTORY_FILE = "inventory.json"
_KINDS = ("hosts", "payment_endpoints", "scripts")
_IGNORED_ROLES = ("browser", "paywitness")


def _is_script(r: FlowRecord) -> bool:
    ctype = (r.content_type or "").lower()
    return "javascript" in ctype or r.path.split("?", 1)[0].endswith((".js", ".mjs"))


def build_inventory(records: Iterable[FlowRecord]) -> dict[str, dict[str, list[str]]]:
    """{role: {hosts, payment_endpoints, scripts}} of the target's own traffic, sorted."""
    from paywitness.coverage import page_attributed

    inv: dict[str, dict[str, set[str]]] = {}
    for r in page_attributed(list(records)):  # a page's request is never noise
        if r.kind not in ("http", "websocket") or r.role in _IGNORED_ROLES:
            continue
        entry = inv.setdefault(r.role, {k: set() for k in _KINDS})
        entry["hosts"].add(r.host)
        if r.payment_class:
            entry["payment_endpoints"].add(f"{r.payment_class}: {r.method} {r.host}")
        if _is_script(r):
            entry["scripts"].add(r.url.split("?", 1)[0])
    return {role: {k: sorted(v) for k, v in kinds.items()} for role, kinds in sorted(inv.items())}


def write_inventory(bundle: Path, records: Iterable[FlowRecord]) -> Path:
    """Store the run's inventory in its bundle."""
    path = bundle / INVENTORY_FILE
    path.write_text(json.dumps(build_inventory(records), indent=2) + "\n", encoding="utf-8")
    return path


def load_inventory(bundle: Path) -> dict[str, dict[str, list[str]]]:
    """A bundle's stored inventory, or one rebuilt from its ledgers (older bundles)."""
    if not bundle.is_dir():
        raise ConfigError(f"{bundle} is not an evidence bundle folder; pass a run's folder")
    stored = bundle / INVENTORY_FILE
    if stored.is_file():
        try:
            data: Any = json.loads(stored.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{stored} is not valid JSON ({e}); re-run or remove it") from e
        return {str(k): {str(a): list(b) for a, b in v.items()} for k, v in data.items()}
    ledgers = sorted(bundle.glob("ledger*.jsonl"))
    if not ledgers:
        raise ConfigError(f"{bundle} holds neither {INVENTORY_FILE} nor a ledger")
    return build_inventory(read_ledgers(ledgers))


@dataclass(frozen=True)
class Drift:
    """One item that appeared (+) or disappeared (-) between two inventories."""

    change: str
    role: str
    kind: str
    item: str


def diff_inventories(
    a: dict[str, dict[str, list[str]]], b: dict[str, dict[str, list[str]]]
) -> list[Drift]:
    """Everything in B not in A (`+`) and in A not in B (`-`), per role and kind."""
    out = []
    for role in sorted(set(a) | set(b)):
        for kind in _KINDS:
            before = set(a.get(role, {}).get(kind, []))
            after = set(b.get(role, {}).get(kind, []))
            out += [Drift("+", role, kind, i) for i in sorted(after - before)]
            out += [Drift("-", role, kind, i) for i in sorted(before - after)]
    return out


def drift_main(bundle_a: str, bundle_b: str) -> int:
    """Print the drift between two bundles; exit 0 when nothing changed, 1 otherwise."""
    changes = diff_inventories(load_inventory(Path(bundle_a)), load_inventory(Path(bundle_b)))
    for d in changes:
        print(f"{d.change} {d.role:<11} {d.kind:<17} {d.item}")
    print(f"drift: {len(changes)} change(s) between {bundle_a} and {bundle_b}")
    return 1 if changes else 0
