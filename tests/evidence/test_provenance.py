"""Provenance: each host's upstream certificate chain, addresses and versions reach run.json
and the report's "How this was recorded" section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import http_flow
from cryptography import x509
from mitmproxy.certs import Cert
from mitmproxy.test import taddons

from paywitness.cli import main
from paywitness.evidence.allure_evidence import write_allure_meta
from paywitness.evidence.provenance import hosts_reached
from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path
from proxy_addons.backend_recorder import BackendRecorder

from .conftest import _ca, make_run


def test_the_recorder_notes_each_connections_chain_once(tmp_path: Path) -> None:
    cert = x509.load_pem_x509_certificate(_ca(tmp_path).read_bytes())
    rec = BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        flows = [http_flow("api.commerce.test", "/path", "GET") for _ in range(2)]
        flows[1].server_conn = flows[0].server_conn  # the same upstream connection, reused
        for f in flows:
            f.server_conn.certificate_list = [Cert(cert)]
            rec.requestheaders(f)
            rec.response(f)
        rec.done()
    records = [r for r in read_ledger(ledger) if r.kind == "http"]
    chains = [r.extra.get("server_chain") for r in records]
    assert chains[1] is None
    (leaf,) = chains[0]
    assert leaf["subject"] == leaf["issuer"] == "CN=mitmproxy"
    assert len(leaf["spki_sha256"]) == 64
    assert leaf["not_before"] < leaf["not_after"]
    host = hosts_reached(records)["api.commerce.test"]
    assert host["chains"] == [chains[0]]
    assert host["addresses"] == [records[0].server_addr]
    assert host["flows"] == 2


def test_run_json_and_report_say_how_the_run_was_recorded(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    run = json.loads((out / "run.json").read_text())
    prov = run["provenance"]
    assert prov["versions"]["playwright"]
    assert prov["versions"]["mitmproxy"]
    assert prov["versions"]["paywitness"]
    assert run["seed"] == 42
    assert run["profile"]["sha256"]
    assert run["command"]
    shop = prov["hosts"]["shop.social.test"]
    assert shop["addresses"] == ["127.0.0.1:40001"]
    assert shop["http_versions"] == ["HTTP/2.0"]
    html = (out / "report.html").read_text()
    assert "How this was recorded" in html
    assert "shop.social.test" in html.split("How this was recorded")[1]


def test_the_demo_profile_maps_payment_to_its_clause_in_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clause = "Permendag 31/2023 Pasal 21 ayat (3)"
    wording = "dilarang memfasilitasi transaksi pembayaran"
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    html = (out / "report.html").read_text().split("Checks and figures")[1]
    assert html.count(f"§ {clause}") == len(
        json.loads((out / "verdict.json").read_text())["categories"]["payment"]["checks"]
    )
    assert wording in html
    assert json.loads((out / "run.json").read_text())["regulation"]["payment"]["clause"] == clause
    assert json.loads((out / "scorecard.json").read_text())["regulation"] == {"payment": clause}
    write_allure_meta(tmp_path / "allure", json.loads((out / "run.json").read_text()))
    env = (tmp_path / "allure" / "environment.properties").read_text()
    assert f"regulation.payment={clause}" in env
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    pay_lines = [ln for ln in printed.splitlines() if " payment." in ln]
    assert pay_lines
    assert all(ln.endswith(f"[{clause}]") for ln in pay_lines)
    assert not any(clause in ln for ln in printed.splitlines() if " data." in ln)
