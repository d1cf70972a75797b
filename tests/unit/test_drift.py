"""Inventory and drift: what appeared or disappeared between two runs."""

from __future__ import annotations

import json

from builders import flow_record

from paywitness.cli import main
from paywitness.inventory import build_inventory, diff_inventories, write_inventory


def _r(i, host, path, role, pay=None, ctype="application/json", kind="http"):
    return flow_record(
        host, path, "GET", kind=kind, id=f"r{i}", ts=i, url=f"https://{host}{path}?v=1",
        role=role, payment_class=pay, content_type=ctype,
    )  # fmt: skip


RUN_A = [
    _r(1, "www.s.example", "/app.js", "social", ctype="application/javascript"),
    _r(2, "api.t.example", "/v1/orders", "commerce", pay="create-order"),
    _r(3, "x.google.com", "/", "browser"),
    _r(4, "www.s.example", "/app.js", "social", kind="client"),
]
RUN_B = [RUN_A[1], _r(5, "px.s.example", "/v1/payments", "social", pay="charge")]


def test_inventory_per_role_leaves_browser_and_client_records_out():
    inv = build_inventory(RUN_A)
    assert set(inv) == {"social", "commerce"}
    assert inv["social"]["scripts"] == ["https://www.s.example/app.js"]
    assert inv["commerce"]["payment_endpoints"] == ["create-order: GET api.t.example"]


def test_drift_lists_appeared_and_disappeared(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_inventory(a, RUN_A)
    write_inventory(b, RUN_B)
    changes = diff_inventories(build_inventory(RUN_A), build_inventory(RUN_B))
    assert {(d.change, d.role, d.kind, d.item) for d in changes} == {
        ("+", "social", "hosts", "px.s.example"),
        ("-", "social", "hosts", "www.s.example"),
        ("+", "social", "payment_endpoints", "charge: GET px.s.example"),
        ("-", "social", "scripts", "https://www.s.example/app.js"),
    }
    assert main(["drift", str(a), str(b)]) == 1
    assert "+ social" in capsys.readouterr().out
    assert main(["drift", str(a), str(a)]) == 0
    assert json.loads((a / "inventory.json").read_text())["commerce"]["hosts"] == ["api.t.example"]


def test_drift_of_a_folder_that_is_no_bundle_is_exit_2(tmp_path, capsys):
    assert main(["drift", str(tmp_path), str(tmp_path / "missing")]) == 2
    assert "error" in capsys.readouterr().err
