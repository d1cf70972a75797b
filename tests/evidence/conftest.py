"""A synthetic finished run: ledger, captured HAR entries, CA cert, then the bundle finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import flow_record
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from paywitness.canaries import Canary
from paywitness.evidence.bundle import finalize_bundle
from paywitness.evidence.har import har_entries_path
from paywitness.evidence.redaction import CANARIES_FILE, Redactor
from paywitness.evidence.runmeta import save_ca_cert
from paywitness.ledger import FlowRecord, LedgerWriter
from paywitness.profile import demo_profile_path, load_profile
from paywitness.run import RunContext

TEST = "scenarios/test_payment_routing.py::test_card_purchase_is_paid_in_commerce"
EMAIL = "budi.santoso.pw1q@example.id"
CARD = "4111111111111111"
SESSION = "s3ss10n-c00kie-value-123456"


def _ca(tmp: Path) -> Path:
    """A throw-away CA file laid out like mitmproxy's confdir (cert and key side by side)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "mitmproxy")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp / "mitmproxy-ca.pem").write_bytes(key_pem + cert.public_bytes(serialization.Encoding.PEM))
    path = tmp / "mitmproxy-ca-cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _http(
    rid: str, ts: float, step: str, method: str, url: str, role: str, **kw: object
) -> FlowRecord:
    host, path = url.split("/")[2], "/" + url.split("/", 3)[3]
    return flow_record(
        host, path, method, id=rid, ts=ts, duration=0.05, step=step, url=url,
        server_addr="127.0.0.1:40001", http_version="HTTP/2.0", request_size=10,
        response_size=100, content_type="text/html", role=role, rule=f"role:{role}", test=TEST,
        **kw,
    )  # fmt: skip


def make_run(output: Path, tmp: Path, *, payment_host: str = "api.commerce.test") -> RunContext:
    """Write a small but complete run into `output` and finish its bundle."""
    profile_path = demo_profile_path()
    run = RunContext(
        output=output, profile=load_profile(profile_path), profile_path=profile_path, seed=42
    )
    output.mkdir(parents=True)
    redactor = Redactor()
    added = redactor.add_canaries([Canary("email", EMAIL), Canary("card", CARD)])
    redactor.write_canaries(output / CANARIES_FILE, added, test=TEST, worker="main")
    pay_role = "social" if "social" in payment_host else "commerce"
    t = 1_700_000_000.0
    recs = []
    for i, (step, flows) in enumerate(
        [
            ("browse", [("GET", "https://shop.social.test/", "social", None)]),
            ("checkout", [("GET", "https://checkout.commerce.test/embed", "commerce", None)]),
            (
                "pay",
                [
                    ("POST", f"https://{payment_host}/api/orders", pay_role, "create-order"),
                    ("POST", f"https://{payment_host}/api/orders/7/pay", pay_role, "pay"),
                    ("POST", "https://pay.gateway.test/v1/charges", "gateway", "charge"),
                ],
            ),
            (
                "confirm",
                [("GET", "https://invoice.commerce.test/invoices/7", "commerce", "invoice")],
            ),
        ]
    ):
        ts = t + i * 10
        recs.append(flow_record(kind="mark", id=f"m{i}", ts=ts, step=step, test=TEST))
        for j, (method, url, role, pay) in enumerate(flows):
            recs.append(
                _http(f"main-{i}{j}", ts + 1 + j, step, method, url, role, payment_class=pay)
            )
    # What the data fixtures record: the planted canaries, and the card seen at the gateway.
    recs.append(
        flow_record(
            kind="plant",
            id="plant",
            ts=t,
            step="browse",
            method="PLANT",
            role="paywitness",
            test=TEST,
            planted=added.manifest()["canaries"],
        )
    )
    charge = next(r for r in recs if r.payment_class == "charge")
    charge.canary_hits = [
        {
            "kind": "card",
            "chain": "card",
            "encoding": "card",
            "location": "request.body:$.card",
            "partial": False,
            "canary_hash": added.salted_hash(CARD),
            "excerpt": '{"card": "[canary:card]"}',
        }
    ]
    writer = LedgerWriter(run.ledger_path)
    for r in recs:
        writer.write(r)
    writer.close()
    # One captured entry, as proxy_addons/har_capture.py writes it (already masked).
    entry = {
        "startedDateTime": "2023-11-14T22:13:31+00:00",
        "time": 12.0,
        "request": {
            "method": "POST",
            "url": "https://127.0.0.1:5555/api/orders",
            "httpVersion": "HTTP/2.0",
            "cookies": [{"name": "sid", "value": SESSION}],
            "headers": [{"name": "cookie", "value": f"sid={SESSION}"}],
            "queryString": [],
            "headersSize": 50,
            "bodySize": 40,
            "postData": {
                "mimeType": "application/json",
                "text": json.dumps({"email": EMAIL, "card": CARD}),
                "params": [],
            },
        },
        "response": {
            "status": 201,
            "statusText": "Created",
            "httpVersion": "HTTP/2.0",
            "cookies": [],
            "headers": [{"name": "set-cookie", "value": f"sid={SESSION}; HttpOnly"}],
            "content": {"size": 20, "mimeType": "application/json", "text": '{"order": 7}'},
            "redirectURL": "",
            "headersSize": 30,
            "bodySize": 20,
        },
        "cache": {},
        "timings": {"connect": -1, "ssl": -1, "send": 1, "wait": 10, "receive": 1},
        "_paywitness": {"id": "main-20", "step": "pay", "test": TEST},
    }
    side = har_entries_path(output, "main")
    side.write_text(json.dumps(redactor.har_entry(entry)) + "\n", encoding="utf-8")
    save_ca_cert(output, "main", _ca(tmp))
    run.judge_and_write({"scenarios": {TEST: "passed"}})
    finalize_bundle(run)
    return run


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A finished bundle of a passing synthetic run."""
    out = tmp_path / "reports" / "run1"
    make_run(out, tmp_path)
    return out
