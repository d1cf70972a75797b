"""Attribution by server identity: what answered wins over what the name says."""

from __future__ import annotations

from paywitness.classify import Classifier, ServerIdentity
from paywitness.profile import Profile

PROFILE = {
    "name": "t",
    "start_url": "https://shop.social.example/",
    "roles": [
        {"name": "social", "hosts": ["*.social.example"], "identity": {"organizations": ["S"]}},
        {
            "name": "commerce",
            "hosts": ["*.commerce.example"],
            "identity": {"networks": ["203.0.113.0/24"], "headers": {"server": "toko-*"}},
        },
        {
            "name": "gateway",
            "hosts": ["pay.gateway.example"],
            "identity": {"organizations": ["G"], "require": True},
        },
    ],
    "payment": {
        "allowed_roles": ["commerce", "gateway"],
        "endpoints": [{"name": "pay", "path": "/pay"}],
        "invoice_endpoint": None,
    },
}


def _classify(host: str, identity: ServerIdentity | None):
    return Classifier(Profile.model_validate(PROFILE)).classify(host, "POST", "/pay", identity)


def test_commerce_name_on_social_server_is_social_and_says_so():
    c = _classify("api.commerce.example", ServerIdentity("127.0.0.1:443", "S"))
    assert (c.role, c.rule, c.payment_class) == ("social", "roles[0].identity", "pay")
    assert c.identity_mismatch == {
        "hostname": "api.commerce.example",
        "name_role": "commerce",
        "identity_role": "social",
        "server_identity": {"address": "127.0.0.1:443", "organization": "S"},
    }


def test_matching_identity_keeps_the_name_role():
    ident = ServerIdentity("203.0.113.9:443", None, {"Server": "toko-edge/2"})
    c = _classify("api.commerce.example", ident)
    assert (c.role, c.identity_mismatch) == ("commerce", None)


def test_every_listed_kind_must_match():
    ident = ServerIdentity("198.51.100.1:443", None, {"Server": "toko-edge/2"})
    c = _classify("api.commerce.example", ident)
    assert (c.role, c.identity_mismatch) == ("commerce", None)  # no identity claims it


def test_required_identity_that_fails_makes_the_host_unknown():
    c = _classify("pay.gateway.example", ServerIdentity("10.0.0.1:443", "Someone Else"))
    assert c.role == "unknown"
    assert c.identity_mismatch is not None
    assert c.identity_mismatch["server_identity"]["organization"] == "Someone Else"


def test_without_identity_the_name_decides():
    assert _classify("api.commerce.example", None).role == "commerce"
