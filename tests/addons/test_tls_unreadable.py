"""A client that refuses the proxy's certificate is listed, per role, as seen but not readable."""

from __future__ import annotations

import json
import socket
import ssl
import time
from pathlib import Path

import pytest

from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path, load_profile
from paywitness.report_text import verdict_table
from paywitness.run import RunContext
from paywitness.session import RecordingSession, Target

WAIT_S = 10.0


def _refuse_the_proxy(proxy_port: int, host: str) -> str:
    """CONNECT through the proxy, then a TLS handshake trusting the system CAs only (not the
    run's): the client aborts on the proxy's certificate. Returns the client's own address."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=WAIT_S)
    with sock:
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        client = "{}:{}".format(*sock.getsockname()[:2])
        context = ssl.create_default_context()  # the system's CAs; the run's CA is not among them
        context.set_alpn_protocols(["h2", "http/1.1"])
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(sock, server_hostname=host)
    return client


def _wait_for_tls_records(ledger: Path, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if ledger.is_file() and sum(r.kind == "tls" for r in read_ledger(ledger)) >= count:
            return
        time.sleep(0.05)  # the proxy writes the record on its own thread
    raise AssertionError(f"no {count} tls record(s) in {ledger} after {WAIT_S} s")


def test_a_refused_handshake_is_listed_per_role_with_its_sni(tmp_path: Path) -> None:
    path = demo_profile_path()
    run = RunContext(output=tmp_path / "out", profile=load_profile(path), profile_path=path, seed=5)
    # Lazy connections: the proxy dials no one before the client's handshake, so no target runs.
    session = RecordingSession(run, target=Target(), record_tls_failures=True)
    with session:
        session.begin_test("t::pinned-app")
        session.set_step("pay")
        gateway_client = _refuse_the_proxy(session.proxy_port, "pay.gateway.test")
        social_client = _refuse_the_proxy(session.proxy_port, "shop.social.test")
        _wait_for_tls_records(run.ledger_path, 2)
        session.end_test("passed")
    result = session.finish()
    assert result.verdict is not None

    seen = result.verdict.categories["payment"].observed["unreadable_by_role"]
    assert sorted(seen) == ["gateway", "social"]
    (gateway,) = seen["gateway"]
    (social,) = seen["social"]
    assert (gateway["sni"], gateway["requested"], gateway["step"]) == (
        "pay.gateway.test",
        "pay.gateway.test:443",
        "pay",
    )
    assert gateway["client"] == gateway_client
    assert gateway["alpn_offers"] == ["h2", "http/1.1"]
    assert gateway["server"] is None  # lazy: the proxy never dialled the gateway
    assert (social["sni"], social["client"]) == ("shop.social.test", social_client)
    assert result.verdict.verdict == "inconclusive"  # what could not be read is not a pass

    written = json.loads((result.bundle / "verdict.json").read_text())
    assert written["categories"]["payment"]["observed"]["unreadable_by_role"] == seen
    text = verdict_table(result.verdict)
    assert "seen but not readable" in text
    assert "  gateway: 1" in text
    assert "SNI pay.gateway.test -> pay.gateway.test:443" in text
    assert f"step 'pay', client {social_client}" in text
    html = (result.bundle / "report.html").read_text()
    assert "Seen but not readable" in html
    assert "<code>shop.social.test</code>" in html
