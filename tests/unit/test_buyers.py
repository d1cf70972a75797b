"""Seeded canary buyers and Luhn-valid test cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywitness.buyers import (
    DEFAULT_INSTRUMENTS,
    load_instruments,
    luhn_valid,
    make_buyer,
    make_card,
    make_marker,
)
from paywitness.errors import ConfigError


def test_same_seed_same_buyer() -> None:
    assert make_buyer(42) == make_buyer(42)


def test_emails_and_markers_unique_per_seed() -> None:
    buyers = [make_buyer(seed) for seed in range(300)]
    assert len({b.email for b in buyers}) == len(buyers)
    assert len({b.marker for b in buyers}) == len(buyers)
    for b in buyers:
        assert b.marker in b.email
        assert b.email.endswith("@example.com")


def test_markers_never_collide_across_seed_digits() -> None:
    # "pw" + hex(seed) + "q" + check: seeds 0x1 and 0x1a must not share a prefix ambiguity.
    seeds = {*range(-50, 50), 0x1AB, 0x1ABC, 2**40}
    assert len({make_marker(s) for s in seeds}) == len(seeds)


def test_buyer_looks_indonesian() -> None:
    b = make_buyer(3)
    assert b.phone.startswith("+62 8")
    assert b.postcode.isdigit()
    assert " " in b.name
    assert "RT " in b.street_address


@pytest.mark.parametrize(
    ("behaviour", "bin_", "gateway"),
    [
        ("success", "424242", "approved"),
        ("decline", "400002", "declined"),
        ("threeds", "400003", "challenge"),
        ("declined", "400002", "declined"),
    ],
)
def test_card_bin_selects_behaviour(behaviour: str, bin_: str, gateway: str) -> None:
    card = make_card(11, behaviour)
    assert card.number.startswith(bin_)
    assert len(card.number) == 16
    assert card.number.isdigit()
    assert luhn_valid(card.number)
    assert card.behaviour == gateway
    assert (card.expiry, card.cvc) == ("12/34", "123")


def test_card_is_seeded() -> None:
    assert make_card(5) == make_card(5)
    assert make_card(5).number != make_card(6).number
    assert make_card(5, "threeds").otp == "123456"


def test_unknown_behaviour_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'refund'.*success"):
        make_card(1, "refund")


def test_explicit_instruments_path(tmp_path: Path) -> None:
    path = tmp_path / "instruments.yaml"
    path.write_text(
        "cards:\n  success: {bin: '555555', length: 19, brand: mastercard, behaviour: approved}\n"
        "expiry: '01/30'\ncvc: '999'\n"
    )
    card = make_card(1, instruments=path)
    assert card.number.startswith("555555")
    assert len(card.number) == 19
    assert luhn_valid(card.number)
    assert (card.brand, card.expiry, card.cvc) == ("mastercard", "01/30", "999")


def test_missing_instruments_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read instruments file"):
        load_instruments(tmp_path / "nope.yaml")


def test_default_instruments_is_the_repo_fixture() -> None:
    assert DEFAULT_INSTRUMENTS.parts[-2:] == ("fixtures", "instruments.yaml")
    assert "success" in load_instruments()["cards"]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4242 4242 4242 4242", True),
        ("79927398713", True),
        ("79927398710", False),
        ("4242424242424241", False),
        ("", False),
        ("abcd", False),
    ],
)
def test_luhn_valid(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_generated_cards_all_luhn_valid() -> None:
    assert all(luhn_valid(make_card(s).number) for s in range(200))
