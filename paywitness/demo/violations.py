"""The one catalog of ways the demo shop can be told to misbehave.

Adding a violation is one entry here plus the switch where it acts (search for
``mode.has("<name>")`` in the demo servers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paywitness.categories import Category
from paywitness.errors import ConfigError

__all__ = ["CATALOG", "Category", "Violation", "get_violation", "validate_violations"]


@dataclass(frozen=True)
class Violation:
    """One named misbehaviour of the demo shop and the category that must catch it."""

    name: str
    category: Category
    description: str
    # Fault rules (paywitness.faults syntax) the run injects so the misbehaviour shows.
    faults: tuple[str, ...] = ()


def _catalog(*entries: Violation) -> dict[str, Violation]:
    return {v.name: v for v in entries}


CATALOG: dict[str, Violation] = _catalog(
    Violation(
        "payment-on-social",
        "payment",
        "The checkout sends the pay call to api.social.test, which forwards it to commerce.",
    ),
    Violation(
        "commerce-host-on-social-server",
        "payment",
        "api.commerce.test is answered by social's server (its certificate is valid for the name "
        "but issued to Social Demo Co), which relays to commerce: only identity shows it.",
    ),
    Violation(
        "relay-under-innocent-path",
        "payment",
        "The checkout sends the charge id to api.social.test's /v1/activity (an analytics-looking "
        "path no profile lists), which relays the pay call to commerce server-side.",
    ),
    Violation(
        "invoice-on-social",
        "payment",
        "The confirmation's invoice link points to shop.social.test, which proxies commerce's.",
    ),
    Violation(
        "card-to-social",
        "data",
        "The gateway's card frame sends social an analytics beacon with the card number, "
        "base64 inside a JSON field.",
    ),
    Violation(
        "email-hash-to-social",
        "data",
        "The checkout loads a social pixel whose URL carries the SHA-256 of the lowercased email.",
    ),
    Violation(
        "email-hash-to-noise-host",
        "data",
        "The checkout's pixel with the email's SHA-256 goes to www.google.com, a host the demo "
        "profile lists as browser noise: the page sent it, so it is judged anyway.",
    ),
    Violation(
        "name-fields-hash-to-social",
        "data",
        "The checkout loads a social pixel with advanced matching: the given and family names, "
        "each lowercased and SHA-256-hashed, in parameters of their own.",
    ),
    Violation(
        "address-over-social-websocket",
        "data",
        "The checkout's seller chat (social's live chat) sends the shipping address.",
    ),
    Violation(
        "postmessage-leak",
        "data",
        "The checkout iframe posts the buyer's name and phone to the social page.",
    ),
    Violation(
        "storage-leak",
        "data",
        "Social's order list API hands the storefront the buyer's phone, kept in localStorage.",
    ),
    Violation(
        "redirect-checkout",
        "seamless",
        "Buy sends the whole page to checkout.commerce.test instead of embedding the checkout.",
    ),
    Violation(
        "popup-checkout",
        "seamless",
        "Buy opens the checkout in a new window on checkout.commerce.test.",
    ),
    Violation(
        "layout-shift",
        "seamless",
        "The checkout is inserted into the page above the feed after it loads (CLS > 0.25).",
    ),
    Violation(
        "slow-handoff",
        "seamless",
        "checkout.commerce.test answers the checkout page 3 s late.",
    ),
    Violation(
        "extra-login",
        "seamless",
        "The checkout first sends the buyer to a commerce login page (401) before it continues.",
    ),
    Violation(
        "orders-from-social",
        "merchant_ops",
        "The Orders tab reads api.social.test's own stale copy of the order status.",
    ),
    Violation(
        "catalog-from-social",
        "merchant_ops",
        "Product price and stock come from api.social.test's copy of the catalog.",
    ),
    Violation(
        "total-from-social",
        "merchant_ops",
        "The product cards' total (price + shipping) is computed with the shipping fee of "
        "api.social.test's stale copy of the catalog; the price itself still comes from commerce.",
    ),
    Violation(
        "fallback-to-social",
        "payment",
        "When commerce fails, the checkout retries the payment through api.social.test.",
        faults=("role=commerce method=POST endpoint=pay status=503 first=1",),
    ),
    Violation(
        "double-charge",
        "payment",
        "The gateway ignores idempotency keys and the checkout retries a timed-out charge.",
        faults=("role=gateway endpoint=charge timeout=1500 phase=response first=1",),
    ),
)


def get_violation(name: str) -> Violation:
    """The catalog entry called `name`; ConfigError listing the valid names otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        valid = ", ".join(sorted(CATALOG))
        raise ConfigError(f"unknown demo violation {name!r}; valid names are: {valid}") from None


def validate_violations(names: Iterable[str]) -> frozenset[str]:
    """Check every name against the catalog (a bare string is refused: pass a list)."""
    if isinstance(names, str):
        raise ConfigError(f"violations must be a list of names, got the string {names!r}")
    return frozenset(get_violation(n).name for n in names)
