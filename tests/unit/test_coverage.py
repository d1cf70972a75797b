"""Coverage: a browser request the proxy never saw makes the verdict inconclusive."""

from __future__ import annotations

from builders import flow_record

from paywitness.analysers import judge

PROFILE_TEXT = """
name: t
start_url: https://shop.social.example/
roles:
  - {name: social, hosts: ["*.social.example"]}
  - {name: commerce, hosts: ["*.commerce.example"]}
payment:
  allowed_roles: [commerce]
  endpoints:
    - {name: pay, method: POST, path: "/api/pay"}
    - {name: status, method: GET, path: /api/status}
  invoice_endpoint: null
noise: {hosts: ["*.google.com"]}
"""


def _rec(i, kind, method, host, path, pay=None, role="commerce", **extra):
    if kind == "client":
        extra = {**extra, "probe": "request"}
    return flow_record(
        host, path, method, kind=kind, id=f"r{i}", ts=i, role=role, payment_class=pay,
        test="t::x", **extra,
    )  # fmt: skip


def _journey(bypass_status: bool):
    recs = [
        _rec(1, "http", "GET", "shop.social.example", "/", role="social"),
        _rec(2, "client", "GET", "shop.social.example", "/", role="social", outcome="finished"),
        _rec(3, "http", "POST", "api.commerce.example", "/api/pay", "pay"),
        _rec(4, "client", "POST", "api.commerce.example", "/api/pay", "pay", outcome="finished"),
        _rec(5, "client", "GET", "x.google.com", "/", role="browser", outcome="finished"),
        _rec(6, "client", "GET", "shop.social.example", "/", role="social", outcome="finished"),
        _rec(7, "client", "GET", "cdn.social.example", "/gone", role="social", outcome="failed"),
        _rec(
            8, "client", "GET", "api.commerce.example", "/api/status", "status", outcome="finished"
        ),
    ]
    if not bypass_status:
        recs.append(_rec(9, "http", "GET", "api.commerce.example", "/api/status", "status"))
    return recs


def test_full_coverage_passes(write_profile):
    from paywitness.profile import load_profile

    profile = load_profile(write_profile(PROFILE_TEXT))
    v = judge(_journey(bypass_status=False), profile)
    assert v.categories["payment"].status == "pass", v.reasons
    figures = v.categories["payment"].observed["coverage"]["coverage.overall"]
    assert (figures["seen"], figures["requested"]) == (4, 4)  # noise and failures left out


def test_payment_class_request_around_the_proxy_is_inconclusive(write_profile):
    from paywitness.profile import load_profile

    profile = load_profile(write_profile(PROFILE_TEXT))
    v = judge(_journey(bypass_status=True), profile)
    assert v.verdict == "inconclusive"
    assert any("payment-class" in r for r in v.reasons)
    (finding,) = [f for f in v.findings if f.rule_id == "coverage.bypassed-proxy"]
    assert "/api/status" in finding.message
    assert v.categories["payment"].observed["coverage"]["coverage.overall"]["per_role"] == {
        "commerce": "1/2",
        "social": "2/2",
    }


def test_without_client_records_coverage_is_not_required(write_profile):
    from paywitness.profile import load_profile

    profile = load_profile(write_profile(PROFILE_TEXT))
    recs = [r for r in _journey(False) if r.kind != "client"]
    payment = judge(recs, profile).categories["payment"]
    assert payment.status == "pass"
    assert [c.status for c in payment.checks if c.id.startswith("coverage")] == ["not_observed"]
