"""Seeded canary buyers and test cards: every run plants values found nowhere else."""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from paywitness.errors import ConfigError

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "Buyer",
    "TestCard",
    "load_instruments",
    "luhn_check_digit",
    "luhn_valid",
    "make_buyer",
    "make_card",
    "make_marker",
]

#: ``fixtures/instruments.yaml`` at the repository root (the package's parent folder).
DEFAULT_INSTRUMENTS = Path(__file__).resolve().parent.parent / "fixtures" / "instruments.yaml"

# Indonesian mobile operator prefixes after the leading 0 (Telkomsel, Indosat, XL, Tri, Smartfren).
_MOBILE_PREFIXES = (
    "811",
    "812",
    "813",
    "821",
    "822",
    "852",
    "853",
    "856",
    "857",
    "817",
    "818",
    "819",
    "859",
    "877",
    "878",
    "895",
    "896",
    "897",
    "898",
    "881",
    "882",
    "888",
)


@dataclass(frozen=True, slots=True)
class Buyer:
    """A canary buyer: every field is planted and searched for in all traffic."""

    # repr=False: pytest prints fixture values in failure reports (JUnit XML, Allure); the
    # planted values must never reach them.
    name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str = field(repr=False)
    street_address: str = field(repr=False)
    city: str = field(repr=False)
    postcode: str = field(repr=False)
    marker: str = field(repr=False)
    seed: int
    # The split fields real checkouts ask for (``name`` is ``given_name family_name``); each is a
    # canary of its own, since advanced-matching pixels send them one by one, hashed.
    given_name: str = field(default="", repr=False)
    family_name: str = field(default="", repr=False)
    address_line2: str = field(default="", repr=False)
    region: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class TestCard:
    """A Luhn-valid test PAN whose BIN selects the demo gateway's behaviour."""

    __test__ = False  # not a pytest test class, despite the name

    number: str = field(repr=False)  # a canary: kept out of failure reports
    expiry: str
    cvc: str
    brand: str
    behaviour: str
    instrument: str
    otp: str | None = None

    @property
    def first6(self) -> str:
        return self.number[:6]

    @property
    def last4(self) -> str:
        return self.number[-4:]


_SYLLABLES = ("ra", "wa", "ti", "na", "si", "ya", "di", "ka", "sa", "ri", "ni", "wi", "ma", "la")

_FAKER_LOCK = threading.Lock()
_FAKER: list[Faker] = []  # one id_ID instance, re-seeded per buyer (creating one is slow)
# Faker is imported on first use: imported before `pytest.main` (the CLI), it would be a module
# pytest can no longer rewrite for Faker's own pytest plugin, a warning in every run.


def make_marker(seed: int) -> str:
    """A short lowercase marker, unique per seed (the seed's hex digits are part of it)."""
    digest = hashlib.sha256(f"paywitness-marker:{seed}".encode()).hexdigest()
    # 'q' is not a hex digit, so "pw" + hex(seed) + "q" + check never collides across seeds.
    seed_part = format(seed, "x").replace("-", "n")
    return f"pw{seed_part}q{digest[:6]}"


def make_buyer(seed: int) -> Buyer:
    """A reproducible Indonesian buyer for ``seed`` (Faker ``id_ID``), email unique per seed."""
    with _FAKER_LOCK:
        if not _FAKER:
            from faker import Faker

            _FAKER.append(Faker("id_ID"))
        fake = _FAKER[0]
        fake.seed_instance(seed)
        first = fake.first_name()
        last = fake.last_name()
        street_address = fake.street_address()
        city = fake.city()
        postcode = fake.postcode()
        region = fake.state()
    rng = random.Random(f"paywitness-buyer:{seed}")
    # Faker's names are common words (a product, a seller may carry them): two seeded
    # syllables make each name part a value found nowhere else, still Indonesian-looking.
    first += "".join(rng.choice(_SYLLABLES) for _ in range(2))
    last += "".join(rng.choice(_SYLLABLES) for _ in range(2))
    marker = make_marker(seed)
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    email = f"{local}.{marker}@example.com"
    prefix = rng.choice(_MOBILE_PREFIXES)
    rest = f"{rng.randrange(10**8):08d}"
    phone = f"+62 {prefix}-{rest[:4]}-{rest[4:]}"
    rt, rw = rng.randrange(1, 20), rng.randrange(1, 15)
    street = f"{street_address} RT {rt:03d}/RW {rw:03d}"
    line2 = f"Blok {rng.choice('ABCDEFGH')}{rng.randrange(1, 40)} No. {rng.randrange(1, 200)}"
    return Buyer(
        name=f"{first} {last}",
        email=email,
        phone=phone,
        street_address=street,
        city=city,
        postcode=postcode,
        marker=marker,
        seed=seed,
        given_name=first,
        family_name=last,
        address_line2=line2,
        region=region,
    )


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True if ``number`` (digits, spaces and dashes allowed) passes the Luhn check."""
    digits = number.replace(" ", "").replace("-", "")
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def load_instruments(path: Path | None = None) -> dict[str, Any]:
    """The parsed instruments file (default: ``fixtures/instruments.yaml`` at the repo root)."""
    target = path if path is not None else DEFAULT_INSTRUMENTS
    try:
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(
            f"cannot read instruments file {target}: {e.strerror}; "
            "pass instruments=Path(...) to an existing instruments.yaml"
        ) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"instruments file {target} is not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("cards"), dict):
        raise ConfigError(f"instruments file {target} has no 'cards' mapping")
    return data


def make_card(
    seed: int, behaviour: str = "success", *, instruments: Path | None = None
) -> TestCard:
    """A reproducible test card: the instrument's BIN, random digits, then a Luhn digit.

    ``behaviour`` names an entry of ``cards`` (``success``, ``decline``, ``threeds``) or its
    gateway behaviour (``approved``, ``declined``, ``challenge``).
    """
    data = load_instruments(instruments)
    cards: dict[str, dict[str, Any]] = data["cards"]
    key = behaviour
    if key not in cards:
        by_behaviour = {str(v.get("behaviour")): k for k, v in cards.items()}
        if behaviour not in by_behaviour:
            known = sorted({*cards, *by_behaviour})
            raise ConfigError(f"unknown card behaviour {behaviour!r}; expected one of {known}")
        key = by_behaviour[behaviour]
    spec = cards[key]
    bin_ = str(spec["bin"])
    length = int(spec.get("length", 16))
    rng = random.Random(f"paywitness-card:{seed}:{key}")
    body = bin_ + "".join(str(rng.randrange(10)) for _ in range(length - len(bin_) - 1))
    otp = spec.get("otp")
    return TestCard(
        number=body + luhn_check_digit(body),
        expiry=str(spec.get("expiry", data.get("expiry", "12/34"))),
        cvc=str(spec.get("cvc", data.get("cvc", "123"))),
        brand=str(spec.get("brand", "visa")),
        behaviour=str(spec.get("behaviour", key)),
        instrument=key,
        otp=None if otp is None else str(otp),
    )
