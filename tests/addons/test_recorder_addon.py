"""The recorder and host-map addons, unit-tested without a live proxy (mitmproxy's taddons)."""

from __future__ import annotations

import pytest
from builders import http_flow
from mitmproxy import exceptions
from mitmproxy.test import taddons

from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.host_map import HostMap


def test_recorder_writes_one_record_per_flow(tmp_path):
    rec = BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        rec.set_step("pay")
        f = http_flow("api.social.test", "/api/orders/9/pay?token=abc")
        rec.requestheaders(f)
        rec.response(f)
        rec.error(f)  # a flow that also errors later is still one record
        rec.done()
    records = list(read_ledger(ledger))
    assert [r.kind for r in records] == ["mark", "http"]
    http = records[1]
    assert (http.step, http.role, http.payment_class) == ("pay", "social", "pay")
    assert http.url == "https://api.social.test/api/orders/9/pay?token=[masked]"
    host, port = f.server_conn.peername
    assert http.server_addr == f"{host}:{port}"  # what was dialled, not the Host header


def test_recorder_marker_url_sets_step_and_is_answered_locally(tmp_path):
    rec = BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    with taddons.context(rec) as tctx:
        tctx.configure(rec, paywitness_ledger=str(ledger))
        f = http_flow("paywitness.invalid", "/step/checkout", "GET", resp=False)
        rec.requestheaders(f)
        assert f.response is not None
        assert f.response.status_code == 200
        rec.response(f)
    assert rec.step == "checkout"
    assert [r.kind for r in read_ledger(ledger)] == ["mark"]


def test_recorder_bad_options(tmp_path):
    rec = BackendRecorder()
    with taddons.context(rec) as tctx:
        bad = tmp_path / "bad.yaml"
        bad.write_text("name: x\nstart_url: https://a/\nroles: []\npayment: {}\n")
        with pytest.raises(exceptions.OptionsError, match="is invalid"):
            tctx.configure(rec, paywitness_profile=str(bad))
        with pytest.raises(exceptions.OptionsError, match="not a step name"):
            tctx.configure(rec, paywitness_step="Not A Step")


def test_host_map_keeps_host_header_and_blocks_unmapped():
    hm = HostMap()
    with taddons.context(hm) as tctx:
        tctx.configure(
            hm,
            paywitness_host_map=["*.social.test=https://127.0.0.1:4443"],
            paywitness_block_unmapped=True,
        )
        f = http_flow("shop.social.test", "/")
        f.response = None
        hm.requestheaders(f)
        assert (f.request.host, f.request.port) == ("127.0.0.1", 4443)
        assert f.request.host_header == "shop.social.test"
        g = http_flow("update.googleapis.com", "/")
        g.response = None
        hm.requestheaders(g)
        assert g.response is not None
        assert g.response.status_code == 502
        assert g.metadata["paywitness.blocked"] is True


@pytest.mark.parametrize(
    "entry", ["shop.social.test", "shop.social.test=ftp://1.2.3.4:1", "bad host=http://a:1"]
)
def test_host_map_rejects_bad_entries(entry):
    hm = HostMap()
    with (
        taddons.context(hm) as tctx,
        pytest.raises(exceptions.OptionsError, match="host map entry"),
    ):
        tctx.configure(hm, paywitness_host_map=[entry])
