"""Phone mode: an HTTP client plays the phone through the authenticated proxy (loopback only)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from witness_helpers import PhoneClient, WitnessThread, pay_by_hand

from paywitness.evidence.manifest import verify_bundle
from paywitness.witness_mode.session import WitnessOptions


def phone_options(tmp_path: Path, *violations: str) -> WitnessOptions:
    return WitnessOptions(
        demo=True,
        violations=violations,
        phone=True,
        output=tmp_path / "bundle",
        seed=11,
        max_minutes=2,
    )


@pytest.mark.parametrize(
    ("violations", "code", "verdict"),
    [((), 0, "pass"), (("payment-on-social",), 1, "fail")],
    ids=["compliant", "payment-on-social"],
)
def test_phone_purchase_is_judged_and_bundled(
    tmp_path: Path,
    witness_thread: Callable[[WitnessOptions], WitnessThread],
    violations: tuple[str, ...],
    code: int,
    verdict: str,
) -> None:
    w = witness_thread(phone_options(tmp_path, *violations))
    session = w.session
    assert session is not None
    assert session.password
    assert session.proxy is not None
    assert session.proxy.listen_host == "127.0.0.1"
    phone = PhoneClient(session.proxy_port, session.password, None)
    ca = phone.call("GET", "http://paywitness.invalid/ca.pem")  # served for installation
    assert ca.status == 200
    assert ca.body.startswith(b"-----BEGIN CERTIFICATE-----")
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(ca.body)
    phone = PhoneClient(session.proxy_port, session.password, cafile)
    pay_by_hand(phone, session)
    w.press("6", marks="orders")  # the terminal marks `orders`
    assert phone.finish().status == 200
    assert w.join() == code
    out = tmp_path / "bundle"
    data = json.loads((out / "verdict.json").read_text())
    assert data["verdict"] == verdict
    assert data["meta"]["mode"] == "witness-phone"
    assert data["meta"]["witness"]["steps"] == ["browse", "checkout", "pay", "confirm", "orders"]
    assert data["meta"]["witness"]["finished_by"] == "marker-url"
    assert verify_bundle(out).intact
    assert (out / "scorecard.json").is_file()
    assert (out / "report.html").is_file()
    text = w.out.getvalue()
    assert f"Password: {session.password}" in text
    assert text.count(session.password) == 1, "the password is printed once"
    assert "payment-class requests seen:" in text
    assert "still missing:" in text
    if verdict == "fail":
        by_rule = {f["rule_id"]: f for f in data["findings"]}
        assert set(by_rule) == {
            "payment.role-not-allowed",
            "payment.required-call-missing",
            "payment.artefact-reached-role",
        }
        assert "https://api.social.test/" in by_rule["payment.role-not-allowed"]["message"]
    # Nothing the person typed is stored in clear: canaries and card are masked.
    stored = "".join(p.read_text(errors="ignore") for p in out.rglob("*") if p.is_file())
    assert session.card.number not in stored
    assert session.buyer.email not in stored
    assert session.password not in stored


def test_requests_without_proxy_credentials_are_refused(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> None:
    w = witness_thread(phone_options(tmp_path))
    session = w.session
    assert session is not None
    stranger = PhoneClient(session.proxy_port, None, session.ca_cert_path)
    refused = stranger.call("GET", "http://paywitness.invalid/step/pay")
    assert refused.status == 407
    with pytest.raises(OSError, match="407"):
        stranger.call("GET", "https://shop.social.test/")
    wrong = PhoneClient(session.proxy_port, "not-the-password", session.ca_cert_path)
    assert wrong.call("GET", "http://paywitness.invalid/").status == 407
    assert session.steps == [], "a refused client moved the step"
    w.press("q")
    assert w.join() == 3  # nothing was paid: inconclusive, never pass


def test_pinned_app_makes_the_verdict_inconclusive_not_pass(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> None:
    w = witness_thread(phone_options(tmp_path))
    session = w.session
    assert session is not None
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(session.ca_cert_path.read_bytes())
    phone = PhoneClient(session.proxy_port, session.password, cafile)
    pay_by_hand(phone, session)  # enough for a pass...
    pinned = PhoneClient(session.proxy_port, session.password, None)  # trusts only the system
    with pytest.raises(ssl.SSLError):
        pinned.call("POST", "https://api.commerce.test/api/orders", {"items": []})
    w.press("q")
    assert w.join() == 3
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] == "inconclusive"
    (reason,) = [r for r in data["reasons"] if "refused" in r]
    assert "api.commerce.test (commerce)" in reason
    assert "certificate pinning" in reason
    assert verify_bundle(tmp_path / "bundle").intact


def test_a_refusal_before_the_first_step_is_setup_and_marks_are_idempotent(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> None:
    w = witness_thread(phone_options(tmp_path))
    session = w.session
    assert session is not None
    no_ca_yet = PhoneClient(session.proxy_port, session.password, None)
    with pytest.raises(ssl.SSLError):
        no_ca_yet.call("GET", session.start_url)  # the person opened the shop too early
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(no_ca_yet.call("GET", "http://paywitness.invalid/ca.pem").body)
    phone = PhoneClient(session.proxy_port, session.password, cafile)
    action = phone._form("", "mark\\?step=browse&")
    assert phone.call("POST", action).status == 303
    assert phone.call("POST", action).status == 303  # a reload re-sends the same mark id
    assert phone.call("GET", "http://paywitness.invalid/step/checkout").status == 200
    assert session.steps == ["browse"], "a re-sent mark or a GET link marked a step"
    page = phone.call("GET", "http://paywitness.invalid/").body.decode()
    assert "shop.social.test" in page
    assert "was not installed yet" in page
    pay_by_hand(phone, session)
    assert phone.call("GET", "http://paywitness.invalid/finish").status == 200  # only asks
    assert not session.finished.is_set()
    assert phone.finish().status == 200
    assert w.join() == 0, w.out.getvalue()
    text = w.out.getvalue()
    assert "setup: shop.social.test refused this run's certificate before the first step" in text
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] == "pass"
    assert data["meta"]["witness"]["steps"] == ["browse", "browse", "checkout", "pay", "confirm"]


def test_a_refusal_during_the_purchase_is_shown_at_once(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> None:
    w = witness_thread(phone_options(tmp_path))
    session = w.session
    assert session is not None
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(session.ca_cert_path.read_bytes())
    phone = PhoneClient(session.proxy_port, session.password, cafile)
    assert phone.mark("browse").status == 303
    pinned = PhoneClient(session.proxy_port, session.password, None)
    with pytest.raises(ssl.SSLError):
        pinned.call("GET", "https://api.commerce.test/api/products")
    page = phone.call("GET", "http://paywitness.invalid/").body.decode()
    assert 'data-refused="api.commerce.test"' in page
    assert "refused this run's certificate during step browse" in page
    assert "WARNING: api.commerce.test (commerce) refused" in w.out.getvalue()
    w.press("q")
    assert w.join() == 3
