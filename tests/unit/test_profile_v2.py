"""Profile v2: schema, check, init, identity, host overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paywitness.cli import main
from paywitness.errors import ConfigError, ProfileError
from paywitness.profile import load_profile
from paywitness.profile_cli import profile_schema
from paywitness.target import host_overrides, parse_overrides

ROOT = Path(__file__).resolve().parents[2]

V2 = """
version: 2
name: t
start_url: https://shop.social.example/
roles:
  - {name: social, hosts: ["*.social.example"], identity: {organizations: [Social Inc]}}
  - name: commerce
    hosts: ["*.commerce.example"]
    identity: {networks: ["203.0.113.0/24"], headers: {server: "toko-*"}, require: true}
  - {name: gateway, hosts: ["pay.gateway.example"]}
payment:
  allowed_roles: [commerce, gateway]
  endpoints: [{name: pay, method: POST, path: "/api/pay"}]
  invoice_endpoint: null
host_overrides: {"*.social.example": "http://127.0.0.1:8001"}
coverage: {payment_class: 1.0, overall: 0.95}
"""


def test_schema_file_is_current():
    committed = (ROOT / "docs" / "profile.schema.json").read_text(encoding="utf-8")
    assert committed == profile_schema(), "regenerate: paywitness profile schema > docs/..."


def test_schema_documents_v2_keys():
    schema = json.loads(profile_schema())
    props = schema["properties"]
    assert {"roles", "host_overrides", "coverage", "noise", "flow"} <= set(props)
    assert "organizations" in schema["$defs"]["IdentitySpec"]["properties"]


def test_v2_profile_loads(write_profile):
    p = load_profile(write_profile(V2))
    assert p.roles[1].identity is not None
    assert p.roles[1].identity.require
    assert p.coverage.overall == 0.95
    assert host_overrides(p, ["www.social.example=https://127.0.0.1:9"]) == [
        "www.social.example=https://127.0.0.1:9",
        "*.social.example=http://127.0.0.1:8001",
    ]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (('"pay.gateway.example"', '"pay gateway"'), "roles[2].hosts[0]: 'pay gateway'"),
        (('"203.0.113.0/24"', '"not-a-net"'), "roles[1].identity.networks[0]: 'not-a-net'"),
        (("http://127.0.0.1:8001", "127.0.0.1"), "host_overrides.*.social.example"),
        (("overall: 0.95", "overall: 2"), "coverage.overall"),
        (("{organizations: [Social Inc]}", "{}"), "identity lists none"),
    ],
)
def test_malformed_profile_exit_2_with_schema_path(write_profile, capsys, mutation, expected):
    path = write_profile(V2.replace(*mutation))
    assert main(["profile", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    with pytest.raises(ProfileError):
        load_profile(path)


def test_check_explains_roles_endpoints_methods(capsys):
    assert main(["profile", "check", str(ROOT / "fixtures" / "profiles" / "demo.yaml")]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "commerce    hosts *.commerce.test" in out
    assert "pay              POST /api/orders/*/pay on any host" in out
    assert "card-3ds" in out


def test_init_writes_a_starter_that_checks(tmp_path, capsys):
    target = tmp_path / "mine.yaml"
    assert main(["profile", "init", str(target)]) == 0
    assert target.read_text().startswith("# paywitness target profile")
    assert main(["profile", "check", str(target)]) == 0
    assert main(["profile", "init", str(target)]) == 2  # never overwrites silently
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("entry", ["nohost", "a.example=127.0.0.1:80", "bad host=http://x:1"])
def test_resolve_entries_are_checked(entry):
    with pytest.raises(ConfigError, match="--resolve"):
        parse_overrides([entry])
