"""The data analyser as a pure function over records, and the profile's `data` section."""

from __future__ import annotations

import pytest
from builders import flow_record

from paywitness.analysers import judge
from paywitness.analysers.data import PLANT_METHOD
from paywitness.errors import ProfileError
from paywitness.ledger import FlowRecord
from paywitness.profile import DEFAULT_DATA_ALLOWED, Profile, load_profile


def rec(role: str, hits: list[dict] | None = None, kind: str = "http", **kw) -> FlowRecord:
    kw.setdefault("method", "POST")
    kw.setdefault("url", f"https://{role}.test/x")
    return flow_record(kind=kind, duration=0.1, role=role, canary_hits=hits or [], **kw)


def hit(kind: str, chain: str = "", location: str = "request.body", partial: bool = False):
    return {
        "kind": kind,
        "chain": chain or kind,
        "encoding": chain or kind,
        "location": location,
        "partial": partial,
        "canary_hash": "ab" * 32,
        "excerpt": f"x=[canary:{kind}:abababab]",
    }


def plant(*kinds: str) -> FlowRecord:
    planted = [{"kind": k, "hash": f"{k}-hash"} for k in kinds]
    return rec("paywitness", kind="plant", method=PLANT_METHOD, extra={"planted": planted})


def data_of(records, profile: Profile):
    return judge(records, profile).categories["data"]


def test_nothing_planted_is_not_judged_never_passed(demo_profile: Profile) -> None:
    d = data_of([rec("commerce", [hit("email")])], demo_profile)
    assert d.status == "not_judged"
    assert d.observed["reason"] == "no canary was planted"


def test_planted_but_never_typed_is_inconclusive(demo_profile: Profile) -> None:
    d = data_of([plant("email", "card"), rec("commerce")], demo_profile)
    assert d.status == "inconclusive"
    assert d.checks[0].status == "not_observed"


def test_canaries_only_at_allowed_roles_pass(demo_profile: Profile) -> None:
    records = [
        plant("email", "card"),
        rec("commerce", [hit("email")]),
        rec("gateway", [hit("card")]),
        rec("social", [hit("card", "first6(card)", partial=True)]),
    ]
    d = data_of(records, demo_profile)
    assert d.status == "pass"
    (info,) = d.findings
    assert (info.severity, info.rule_id) == ("info", "data.partial-match")


def test_each_leak_names_kind_chain_location_role_and_flow(demo_profile: Profile) -> None:
    leak = rec(
        "social",
        [hit("email", "sha256(lower(email))", "query:uid")],
        method="GET",
        url="https://events.social.test/px?uid=[canary:email:abababab]",
    )
    ws = rec("social", [hit("address", "", "ws:client->server:$.text")], kind="websocket")
    client = rec(
        "social", [hit("phone", "", "localStorage:k")], kind="client", method="localStorage"
    )
    d = data_of([plant("email"), rec("commerce", [hit("email")]), leak, ws, client], demo_profile)
    assert d.status == "fail"
    by_kind = {f.evidence[0]["canary"]: f for f in d.findings}
    email = by_kind["email"]
    assert email.rule_id == "data.canary-leak"
    assert email.severity == "major"
    assert "`sha256(lower(email))` in query:uid" in email.message
    assert email.flow_ids == [leak.id]
    assert email.evidence[0]["role"] == "social"
    assert email.evidence[0]["excerpt"] == "x=[canary:email:abababab]"
    assert "WebSocket" in by_kind["address"].message
    assert "browser localStorage" in by_kind["phone"].message


def test_card_leak_is_critical_and_noise_is_ignored(demo_profile: Profile) -> None:
    records = [plant("card"), rec("gateway", [hit("card")]), rec("social", [hit("card")])]
    records.append(rec("browser", [hit("card")]))
    d = data_of(records, demo_profile)
    (f,) = d.findings
    assert f.severity == "critical"
    assert f.evidence[0]["role"] == "social"


def test_profile_data_section_is_optional_and_validated(tmp_path, demo_profile: Profile) -> None:
    assert demo_profile.data.allowed_roles == DEFAULT_DATA_ALLOWED
    text = (
        "name: x\nstart_url: https://s.test/\nroles: [{name: commerce, hosts: ['*.c.test']}]\n"
        "payment: {allowed_roles: [commerce], endpoints: [{name: pay, path: /p}],"
        " invoice_endpoint: null}\n"
    )
    (tmp_path / "plain.yaml").write_text(text)
    assert load_profile(tmp_path / "plain.yaml").data.allowed_roles["card"] == ["gateway"]
    (tmp_path / "bad.yaml").write_text(text + "data: {allowed_roles: {card: [gateway]}}\n")
    with pytest.raises(ProfileError, match=r"data\.allowed_roles names gateway"):
        load_profile(tmp_path / "bad.yaml")
    (tmp_path / "open.yaml").write_text(text + "data: {allowed_roles: {email: [commerce]}}\n")
    strict = load_profile(tmp_path / "open.yaml")
    d = data_of([plant("email"), rec("commerce", [hit("email")])], strict)
    assert d.status == "pass"
