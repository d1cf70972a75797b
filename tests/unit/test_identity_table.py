"""The identity table per role, and one identity answering an allowed role and social."""

from __future__ import annotations

from typing import Any

from builders import flow_record

from paywitness.analysers.identity import analyse_identity, identities_by_role
from paywitness.classify import Classifier
from paywitness.profile import Profile
from paywitness.verdict import AnalysisContext

SOCIAL_KEY = "a" * 64
COMMERCE_KEY = "b" * 64


def _flow(host: str, role: str, org: str, key: str, cert: str, addr: str, **kw: Any) -> Any:
    return flow_record(
        host, "/", "GET", role=role, server_addr=addr,
        server_cert={"organization": org, "issuer": "Demo CA", "sha256": cert},
        server_chain=[{"sha256": cert, "spki_sha256": key}], **kw,
    )  # fmt: skip


def _ctx(profile: Profile, records: list[Any]) -> AnalysisContext:
    return AnalysisContext(records=records, profile=profile, classifier=Classifier(profile))


def test_each_role_lists_the_identities_that_answered_it(demo_profile: Profile) -> None:
    records = [
        _flow("shop.social.test", "social", "Social Co", SOCIAL_KEY, "c1", "127.0.0.1:1"),
        _flow("api.social.test", "social", "Social Co", SOCIAL_KEY, "c1", "127.0.0.1:1"),
        _flow("api.commerce.test", "commerce", "Commerce Co", COMMERCE_KEY, "c2", "127.0.0.1:2"),
    ]
    table = identities_by_role(records)
    assert {r: [i.organization for i in ids] for r, ids in table.items()} == {
        "commerce": ["Commerce Co"],
        "social": ["Social Co"],
    }
    (social,) = table["social"]
    assert social.hosts == ["shop.social.test", "api.social.test"]
    assert social.spki_sha256 == SOCIAL_KEY
    result = analyse_identity(_ctx(demo_profile, records))
    (check,) = result.checks
    assert check.status == "pass"
    assert not result.findings
    assert result.observed["identities_by_role"]["commerce"][0]["addresses"] == ["127.0.0.1:2"]


def test_a_commerce_name_answered_by_socials_server_is_a_warning(demo_profile: Profile) -> None:
    records = [
        _flow("shop.social.test", "social", "Social Co", SOCIAL_KEY, "c1", "127.0.0.1:1"),
        # The commerce name, but social's organisation and key: no identity rule in the profile.
        _flow("api.commerce.test", "commerce", "Social Co", SOCIAL_KEY, "c3", "127.0.0.1:1"),
        _flow("pay.gateway.test", "gateway", "Gateway Co", "c" * 64, "c4", "127.0.0.1:3"),
    ]
    result = analyse_identity(_ctx(demo_profile, records))
    (check,) = result.checks
    assert check.status == "pass"  # a warning unless the profile asks for a failure
    assert check.summary.startswith("warning: ")
    (finding,) = result.findings
    assert finding.severity == "info"
    assert "api.commerce.test" in finding.message
    assert "the same public key" in finding.message
    strict = demo_profile.model_copy(
        update={"payment": demo_profile.payment.model_copy(update={"identity_shared": "fail"})}
    )
    result = analyse_identity(_ctx(strict, records))
    assert result.checks[0].status == "fail"
    assert result.findings[0].severity == "major"


def test_shared_addresses_alone_are_not_one_operator(demo_profile: Profile) -> None:
    cdn = "104.16.0.1:443"
    records = [
        _flow("shop.social.test", "social", "Social Co", SOCIAL_KEY, "c1", cdn),
        _flow("api.commerce.test", "commerce", "Commerce Co", COMMERCE_KEY, "c2", cdn),
    ]
    result = analyse_identity(_ctx(demo_profile, records))
    assert result.checks[0].status == "pass"
    assert not result.findings


def test_plain_http_leaves_identities_unknown(demo_profile: Profile) -> None:
    result = analyse_identity(_ctx(demo_profile, [flow_record("a.test", "/", "GET")]))
    assert result.checks[0].status == "not_observed"
    assert result.checks[0].required is False
