from __future__ import annotations

import pytest

from paywitness.errors import ProfileError
from paywitness.profile import load_profile

GOOD = """
name: t
start_url: https://shop.example.com/
roles:
  - {name: social, hosts: ["shop.example.com"]}
  - {name: commerce, hosts: ["*.pay-example.com"]}
payment:
  allowed_roles: [commerce]
  endpoints: [{name: pay, method: POST, path: "/api/pay"}]
  invoice_endpoint: null
"""


def test_demo_profile_loads(demo_profile):
    assert [r.name for r in demo_profile.roles] == ["social", "commerce", "gateway"]
    assert demo_profile.flow is not None


def test_good_profile(write_profile):
    p = load_profile(write_profile(GOOD))
    assert p.payment.allowed_roles == ["commerce"]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            ("*.pay-example.com", "bad host!"),
            "roles[1].hosts[0]: 'bad host!' is not a host pattern",
        ),
        (("name: commerce", "name: merchant"), "roles[1].name: 'merchant' is not allowed"),
        (('path: "/api/pay"', 'path: "api/pay"'), "payment.endpoints[0].path"),
        (("allowed_roles: [commerce]", "allowed_roles: [commerce, social]"), "social commerce"),
        (("allowed_roles: [commerce]", "allowed_roles: [gateway]"), "no entry of roles"),
        (("method: POST", "method: FETCH"), "not an HTTP method"),
        (("name: t\n", "name: t\ncolour: red\n"), "colour: unknown key"),
        (("start_url: https://shop.example.com/", "start_url: shop"), "not an http(s) URL"),
    ],
)
def test_bad_profile_names_key_and_value(write_profile, mutation, expected):
    path = write_profile(GOOD.replace(*mutation))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nope.yaml")


def test_not_yaml(write_profile):
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(write_profile("roles: [unclosed"))


def test_not_a_mapping(write_profile):
    with pytest.raises(ProfileError, match="must be a YAML mapping"):
        load_profile(write_profile("- a\n- b\n"))
