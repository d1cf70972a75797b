"""Payment artefacts: the values commerce or the gateway mint in their answers.

Order ids, charge and payment ids, card tokens and idempotency keys identify one payment; a
role that may not process payments should never hold one (except what the profile allows, e.g.
an order reference for social's Orders tab). `harvest` finds them in a JSON answer: the
profile's `payment.artefacts.fields`, and by default the fields found by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from paywitness.profile import ArtefactField, ArtefactPolicy

__all__ = ["DEFAULT_NAMES", "MIN_LENGTH", "Minted", "harvest", "harvest_json"]

#: Values shorter than this are not tracked: too common to mean one payment ("1", "paid").
MIN_LENGTH = 6

#: Field names (lower-cased, without `_` and `-`) found by default, and the artefact they mint.
DEFAULT_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("orderid", "ordernumber", "orderno", "orderref", "orderreference", "ordercode"),
        "order-id",
    ),
    **dict.fromkeys(
        (
            "paymentid",
            "paymentintentid",
            "paymentintent",
            "paymentreference",
            "paymentref",
            "chargeid",
            "transactionid",
            "transactionref",
            "txnid",
        ),
        "payment-id",
    ),
    **dict.fromkeys(
        ("cardtoken", "paymenttoken", "paymentmethodid", "vaulttoken", "tokenid"), "card-token"
    ),
    "idempotencykey": "idempotency-key",
}

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+|\*)\]")


@dataclass(frozen=True, slots=True)
class Minted:
    """One artefact value found in an answer; `source` is the profile path that named it."""

    name: str
    value: str
    path: str
    source: str


def _norm_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if len(text) >= MIN_LENGTH else None


def _walk(data: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every object member, depth first."""
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}"
            yield p, str(k), v
            yield from _walk(v, p)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk(v, f"{path}[{i}]")


def _at_path(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    """The values a root path (`$.a.b[0]`, `$.items[*].id`) selects, with their concrete path."""
    current: list[tuple[str, Any]] = [("$", data)]
    for m in _SEGMENT.finditer(path[1:]):
        key, index = m.group(1), m.group(2)
        nxt: list[tuple[str, Any]] = []
        for where, node in current:
            if key is not None and isinstance(node, dict) and key in node:
                nxt.append((f"{where}.{key}", node[key]))
            elif index == "*" and isinstance(node, list):
                nxt += [(f"{where}[{i}]", v) for i, v in enumerate(node)]
            elif index is not None and index != "*" and isinstance(node, list):
                i = int(index)
                if i < len(node):
                    nxt.append((f"{where}[{i}]", node[i]))
        current = nxt
    return iter(current)


def _field_values(data: Any, spec: ArtefactField) -> Iterator[tuple[str, Any]]:
    if spec.path.startswith("$"):
        yield from _at_path(data, spec.path)
    else:
        yield from ((p, v) for p, k, v in _walk(data) if k == spec.path)


def harvest_json(data: Any, policy: ArtefactPolicy, *, endpoint: str | None = None) -> list[Minted]:
    """The artefacts of one parsed answer (`endpoint`: its payment-class endpoint, if any)."""
    found: dict[str, Minted] = {}

    def add(name: str, value: Any, path: str, source: str) -> None:
        text = _scalar(value)
        if text is not None and text not in found:
            found[text] = Minted(name, text, path, source)

    for i, spec in enumerate(policy.fields):
        if spec.endpoint is not None and spec.endpoint != endpoint:
            continue
        for path, value in _field_values(data, spec):
            add(spec.name, value, path, f"payment.artefacts.fields[{i}]")
    if policy.defaults:
        for path, key, value in _walk(data):
            name = DEFAULT_NAMES.get(_norm_key(key))
            if name is not None:
                add(name, value, path, "default")
        if endpoint is not None and isinstance(data, dict) and "id" in data:
            # An answer's own id is what that payment call created (a charge, an order).
            add(f"{endpoint}.id", data["id"], "$.id", "default")
    return list(found.values())


def harvest(body: bytes, policy: ArtefactPolicy, *, endpoint: str | None = None) -> list[Minted]:
    """The artefacts of a JSON answer body (anything else mints none)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    return harvest_json(data, policy, endpoint=endpoint)
