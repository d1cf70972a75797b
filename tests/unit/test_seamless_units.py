"""Pure parts of the seamless checks: CLS windows, value digests, pixel diffs, display roles."""

from __future__ import annotations

from pathlib import Path

from builders import flow_record
from PIL import Image

from paywitness.analysers import judge
from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.seamless.digest import parse_shown, response_digest, value_hash
from paywitness.seamless.figures import cls_of, run_figures
from paywitness.seamless.screens import compare_images


def test_cls_is_the_largest_session_window() -> None:
    # Two bursts more than 1 s apart: CLS is the larger burst, not the sum.
    shifts = [(0.0, 0.05), (0.5, 0.05), (3.0, 0.2), (3.4, 0.1)]
    assert cls_of(shifts) == 0.3
    assert cls_of([]) == 0.0


def test_shown_values_hash_like_their_json() -> None:
    assert parse_shown("Rp189.000", "digits") == "189000"
    assert parse_shown("Stok 12 · Gratis ongkir", "first-int") == "12"
    assert value_hash(parse_shown("Rp189.000", "digits")) == value_hash(189000)
    assert value_hash("PAID") == value_hash("paid")


def test_digest_keeps_only_display_fields(demo_profile: Profile) -> None:
    specs = [d for d in demo_profile.displays if d.name == "order-status"]
    body = b'{"orders": [{"order_id": "ORD-1", "status": "paid", "buyer_email": "a@b.c"}]}'
    digest = response_digest(body, specs)
    assert digest is not None
    (obj,) = digest["objects"]
    assert obj["status"] == value_hash("paid")
    assert obj["=status"] == "paid"
    assert "buyer_email" not in str(digest)
    assert "a@b.c" not in str(digest)


def test_pixel_diff_counts_changed_pixels_and_writes_an_image(tmp_path: Path) -> None:
    a, b, diff = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "diff.png"
    Image.new("RGB", (10, 10), (255, 255, 255)).save(a)
    img = Image.new("RGB", (10, 10), (255, 255, 255))
    img.putpixel((1, 1), (0, 0, 0))
    img.putpixel((2, 2), (250, 250, 250))  # below the 0.2 threshold: not a difference
    img.save(b)
    result = compare_images(a, b, threshold=0.2, diff_path=diff)
    assert result.diff_pixels == 1
    assert result.ratio == 0.01
    assert Image.open(diff).getpixel((1, 1)) == (255, 0, 0)


def _rec(c: Classifier, i: int, host: str, path: str, body: bytes, ts: float) -> FlowRecord:
    specs = [d for d in c.profile.displays if d.name == "product-price"]
    return flow_record(
        host, path, "GET", id=f"t-{i}", ts=ts, step="browse", content_type="application/json",
        role=c.role_of(host)[0], test="t", display_digest=response_digest(body, specs),
    )  # fmt: skip


def test_display_role_follows_the_response_that_carried_the_value(demo_profile: Profile) -> None:
    c = Classifier(demo_profile)
    body = b'{"products": [{"sku": "BTK-001", "price": 189000}]}'
    shown = flow_record(
        kind="client", id="t-9", ts=2.0, step="browse", test="t", probe="display",
        name="product-price", values=[{"raw": "Rp189.000", "key": "BTK-001"}],
    )  # fmt: skip
    ok = judge([_rec(c, 1, "api.commerce.test", "/api/products", body, 1.0), shown], demo_profile)
    check = next(ch for ch in ok.categories["merchant_ops"].checks if ch.id.endswith("price"))
    assert check.status == "pass"
    bad = judge([_rec(c, 1, "api.social.test", "/api/products", body, 1.0), shown], demo_profile)
    check = next(ch for ch in bad.categories["merchant_ops"].checks if ch.id.endswith("price"))
    assert check.status == "fail"
    assert "1 from social" in check.summary


def _client(ts: float, probe: str, url: str, **extra: object) -> FlowRecord:
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    return flow_record(host, path, kind="client", ts=ts, role="social", probe=probe, **extra)


FAILED_503 = "Failed to load resource: the server responded with a status of 503 ()"


def test_errors_an_injected_fault_caused_are_set_aside_and_no_others() -> None:
    faulted = "https://api.niaga.example/v2/checkouts"
    page = "https://m.ramai.example/"
    fault = {"action": "status", "phase": "request", "rule": "r", "status": 503}
    favicon = "https://m.ramai.example/favicon.ico"
    records = [
        flow_record("api.niaga.example", "/v2/checkouts", "POST", ts=1.0, status=503, fault=fault),
        _client(1.1, "console-error", page, text=FAILED_503, source=faulted),
        # The same kind of line for another resource is the shop's own error: it counts.
        _client(1.2, "console-error", page, text=FAILED_503, source="https://m.ramai.example/api"),
        _client(1.3, "page-error", page, text="TypeError: x is undefined"),
        # The browser's own favicon fetch failing is nothing the buyer sees.
        _client(1.4, "console-error", page, text=FAILED_503.replace("503", "404"), source=favicon),
    ]
    fig = run_figures("t", records)
    assert [r.extra["text"][:9] for r in fig.errors] == ["Failed to", "TypeError"]
    assert fig.errors[0].extra["source"] == "https://m.ramai.example/api"
    assert [r.extra["source"] for r in fig.excused] == [faulted]


def test_a_reset_fault_excuses_its_failed_request() -> None:
    url = "https://api.niaga.example/v2/checkouts/c1/confirm"
    fault = {"action": "reset", "phase": "response", "rule": "r"}
    records = [
        flow_record("api.niaga.example", "/v2/checkouts/c1/confirm", "POST", ts=1.0, fault=fault),
        _client(1.1, "request-failed", url, failure="net::ERR_HTTP2_PROTOCOL_ERROR", aborted=False),
        _client(1.2, "request-failed", url, failure="net::ERR_HTTP2_PROTOCOL_ERROR", aborted=False),
    ]
    fig = run_figures("t", records)
    assert len(fig.excused) == 1  # one fault, one failure set aside
    assert len(fig.errors) == 1
