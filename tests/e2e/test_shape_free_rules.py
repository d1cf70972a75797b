"""Issue 15's demo violations are caught by the generic rules, read from the matrix's runs."""

from __future__ import annotations

from demo_runs import DemoRuns


def _findings(demo_runs: DemoRuns, violation: str) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for f in demo_runs.matrix(violation).verdict()["findings"]:
        out.setdefault(str(f["rule_id"]), []).append(f)
    return out


def test_relay_under_an_innocent_path_fails_through_required_calls_and_artefacts(
    demo_runs: DemoRuns,
) -> None:
    found = _findings(demo_runs, "relay-under-innocent-path")
    (missing, *_) = found["payment.required-call-missing"]
    assert "without pay (POST /api/orders/*/pay)" in str(missing["message"])
    assert "POST https://api.social.test/v1/activity (social" in str(missing["message"])
    (leak, *_) = found["payment.artefact-reached-role"]
    assert "charge-id" in str(leak["message"])
    # No listed path was used on social: the path-based routing rule alone would have passed.
    assert "payment.role-not-allowed" not in found


def test_compliant_run_holds_its_required_calls_and_artefacts(demo_runs: DemoRuns) -> None:
    payment = demo_runs.matrix("(compliant)").verdict()["categories"]["payment"]
    checks = {c["id"]: c for c in payment["checks"]}
    assert checks["payment.required-calls"]["status"] == "pass"
    # The Orders tab keeps the order reference on social: allowed by the demo profile's policy.
    assert checks["payment.artefacts"]["status"] == "pass"
    assert payment["observed"]["artefacts"]["hits_by_role"].get("social", 0) > 0


def test_total_computed_from_socials_copy_fails_its_computed_display(demo_runs: DemoRuns) -> None:
    (finding,) = _findings(demo_runs, "total-from-social")["merchant_ops.display-role"]
    assert "product-total" in str(finding["message"])
    assert "from social (https://api.social.test/api/products)" in str(finding["message"])


def test_pixel_to_a_noise_listed_host_still_fails_data(demo_runs: DemoRuns) -> None:
    leaks = _findings(demo_runs, "email-hash-to-noise-host")["data.canary-leak"]
    assert any("www.google.com" in str(f["message"]) for f in leaks)
    assert any("listed as noise" in str(f["message"]) for f in leaks)
