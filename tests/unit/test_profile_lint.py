"""`profile check` warnings: noise the page reaches, required calls no step reaches (issue 15)."""

from __future__ import annotations

import yaml
from builders import flow_record

from paywitness.cli import main

PROFILE = """
name: t
start_url: https://shop.social.example/
roles:
  - {name: social, hosts: ["*.social.example"]}
  - {name: commerce, hosts: ["*.commerce.example"]}
  - {name: gateway, hosts: ["pay.gateway.example"]}
payment:
  allowed_roles: [commerce, gateway]
  endpoints:
    - {name: pay, method: POST, path: "/api/pay"}
    - {name: charge, method: POST, path: /v1/charges, host: "api.social.example"}
  invoice_endpoint: null
  required: [pay, charge]
  artefacts:
    fields: [{name: token, path: "$.card.token"}]
noise: {hosts: ["*.googleapis.com", "*.example"]}
"""


def _record(kind, host, path, method="GET", **extra):
    return flow_record(
        host, path, method, kind=kind, id=f"{kind}-{host}", ts=1.0, step="checkout",
        role="commerce" if "commerce" in host else "unknown",
        payment_class="pay" if path == "/api/pay" else None, test="t::x", **extra,
    )  # fmt: skip


def test_check_warns_statically_naming_the_profile_path(write_profile, capsys):
    assert main(["profile", "check", str(write_profile(PROFILE))]) == 0
    err = capsys.readouterr().err
    assert "warning: noise.hosts[1] '*.example' covers the start page's host" in err
    assert "overlaps roles[0].hosts[0] '*.social.example'" in err
    assert "warning: payment.required[1] (charge): its endpoints are limited to hosts" in err
    assert "no step can reach it served by an allowed role" in err


def test_check_against_a_run_warns_about_what_it_observed(write_profile, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    records = [
        _record("client", "ajax.googleapis.com", "/jquery.js", probe="request"),
        _record("http", "api.commerce.example", "/api/pay", method="POST"),
    ]
    (run / "ledger.jsonl").write_text("".join(r.to_json() + "\n" for r in records))
    assert main(["profile", "check", str(write_profile(PROFILE)), "--bundle", str(run)]) == 0
    err = capsys.readouterr().err
    assert "noise.hosts[0]=*.googleapis.com: the page itself requested GET " in err
    assert "https://ajax.googleapis.com/jquery.js" in err
    assert "payment.required[1] (charge) was never observed" in err
    assert "payment.required[0]" not in err  # pay was served by commerce
    assert "payment.artefacts.fields[0] (token: $.card.token) matched no answer" in err


def test_check_with_a_folder_that_is_no_run_is_exit_2(write_profile, tmp_path, capsys):
    assert main(["profile", "check", str(write_profile(PROFILE)), "--bundle", str(tmp_path)]) == 2
    assert "holds no ledger*.jsonl" in capsys.readouterr().err


def test_starter_profile_lists_no_google_host_as_noise(tmp_path):
    path = tmp_path / "p.yaml"
    assert main(["profile", "init", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    noise = yaml.safe_load(text).get("noise") or {}
    assert not [h for h in noise.get("hosts", []) if "google" in h or "gstatic" in h]


def test_check_against_a_run_warns_about_an_expression_field_no_answer_carried(
    write_profile, tmp_path, capsys
):
    from paywitness.profile import demo_profile_path, load_profile
    from paywitness.seamless.digest import response_digest

    text = demo_profile_path().read_text(encoding="utf-8").replace("+ shipping", "+ shiping")
    path = write_profile(text)
    specs = [d for d in load_profile(path).displays if d.name == "product-total"]
    body = b'{"products": [{"sku": "A", "price": 100000, "shipping": 12000}]}'
    answer = _record("http", "api.commerce.example", "/api/products")
    answer.extra = {"display_digest": response_digest(body, specs)}
    run = tmp_path / "run"
    run.mkdir()
    (run / "ledger.jsonl").write_text(answer.to_json() + "\n")
    assert main(["profile", "check", str(path), "--bundle", str(run)]) == 0
    err = capsys.readouterr().err
    assert "expression 'price + shiping' reads 'shiping', which no answer" in err
    assert "warning: displays[" in err
