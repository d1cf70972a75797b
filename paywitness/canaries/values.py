"""The planted values of a run: one canary per buyer field, and the salt that proves a match."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = [
    "CANARY_KINDS",
    "HASHED_ONLY_KINDS",
    "SPLIT_KINDS",
    "Canary",
    "CanaryKind",
    "CanarySet",
    "new_salt",
]

CanaryKind = Literal[
    "name",
    "email",
    "phone",
    "address",
    "card",
    "marker",
    "given_name",
    "family_name",
    "address_line2",
    "city",
    "region",
    "postcode",
]
CANARY_KINDS: tuple[CanaryKind, ...] = get_args(CanaryKind)
#: The split fields of the name and the address: each a canary of its own where it stands alone.
SPLIT_KINDS: frozenset[str] = frozenset(
    {"given_name", "family_name", "address_line2", "city", "region", "postcode"}
)
#: Fields whose value alone is common (a city, a postcode): searched for hits only in the
#: normalised, hashed forms advanced-matching pixels send, never as plain text; their plain
#: forms are masked all the same (see ``variants.MASK_ONLY_MIN``).
HASHED_ONLY_KINDS: frozenset[str] = frozenset({"address_line2", "city", "region", "postcode"})


# --------------------------------------------------------------------------- canaries


@dataclass(frozen=True, slots=True)
class Canary:
    """One planted value; its ``repr`` never shows the value."""

    kind: CanaryKind
    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.kind not in CANARY_KINDS:
            raise ValueError(f"unknown canary kind {self.kind!r}; expected one of {CANARY_KINDS}")
        if not self.value.strip():
            raise ValueError(f"canary of kind {self.kind!r} has an empty value")


def new_salt() -> bytes:
    """A fresh per-run salt (written to the evidence bundle next to the salted hashes)."""
    return os.urandom(16)


@dataclass(frozen=True, slots=True)
class CanarySet:
    """The canaries of one run plus the salt that lets a third party verify a match."""

    canaries: tuple[Canary, ...]
    salt: bytes = field(repr=False)
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "canaries", tuple(self.canaries))

    @classmethod
    def from_buyer(
        cls,
        buyer: Buyer,
        card: TestCard | None = None,
        marker: str | None = None,
        salt: bytes | None = None,
    ) -> CanarySet:
        """Name, email, phone, street address, card number and order marker of one buyer, and
        the split fields of the name and address (given and family name, second address line,
        city, region, postcode)."""
        items: list[Canary] = [
            Canary("name", buyer.name),
            Canary("email", buyer.email),
            Canary("phone", buyer.phone),
            Canary("address", buyer.street_address),
        ]
        split_fields: tuple[tuple[CanaryKind, str], ...] = (
            ("given_name", buyer.given_name),
            ("family_name", buyer.family_name),
            ("address_line2", buyer.address_line2),
            ("city", buyer.city),
            ("region", buyer.region),
            ("postcode", buyer.postcode),
        )
        items += [Canary(kind, value) for kind, value in split_fields if value.strip()]
        if card is not None:
            items.append(Canary("card", card.number))
        items.append(Canary("marker", marker if marker is not None else buyer.marker))
        return cls(tuple(items), salt if salt is not None else new_salt(), buyer.seed)

    def salted_hash(self, value: str) -> str:
        """Hex SHA-256 of salt + value: proves a match without disclosing the value."""
        return hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()

    def manifest(self) -> dict[str, Any]:
        """What the evidence bundle stores: salt, seed, kinds and salted hashes, no values."""
        return {
            "salt": self.salt.hex(),
            "seed": self.seed,
            "canaries": [
                {"kind": c.kind, "hash": self.salted_hash(c.value)} for c in self.canaries
            ],
        }
