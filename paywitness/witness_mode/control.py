"""The control page at http://paywitness.invalid/: step marks, Finish and the CA certificate.

Answered by the proxy itself (the name never resolves, RFC 6761), only to clients that passed
proxy authentication: a phone opens it to install the CA, then taps the steps as it pays.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import http

from paywitness.buyers import Buyer, TestCard
from paywitness.classify import MARKER_HOST
from paywitness.records import STEP_NAME

__all__ = ["CONTROL_URL", "STEPS", "ControlPage", "ControlledRun", "control_page_html"]

# The standard steps, the storefront tabs (Shop, Orders) included: the ministry read both.
STEPS = ("browse", "checkout", "pay", "confirm", "shop", "orders")
CONTROL_URL = f"http://{MARKER_HOST}/"
_HTML = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}


class ControlledRun(Protocol):
    """What the control page shows and moves: a witnessed run (`WitnessSession`)."""

    @property
    def steps(self) -> list[str]: ...

    @property
    def buyer(self) -> Buyer: ...

    @property
    def card(self) -> TestCard: ...

    @property
    def ca_cert_path(self) -> Path: ...

    def mark(self, step: str, *, source: str) -> None: ...

    def finish(self, *, source: str) -> None: ...


def control_page_html(session: ControlledRun, note: str = "") -> str:
    """The phone's page: current step, one link per step, Finish, the CA and the buyer."""
    current = session.steps[-1] if session.steps else "none"
    b, c = session.buyer, session.card
    rows = [
        ("Name", b.name),
        ("Email", b.email),
        ("Phone", b.phone),
        ("Address", f"{b.street_address}, {b.city} {b.postcode}"),
        ("Card number", c.number),
        ("Expiry / CVC", f"{c.expiry} / {c.cvc}"),
    ]
    steps = "".join(
        f'<a class="step{" on" if s == current else ""}" href="/step/{s}">{s}</a>' for s in STEPS
    )
    buyer = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>paywitness</title><style>
body{{font:16px system-ui,sans-serif;margin:1em}} a.step{{display:inline-block;margin:.2em;
padding:.6em 1em;border:1px solid #555;border-radius:6px;text-decoration:none;color:#000}}
a.on{{background:#2563eb;color:#fff}} a.finish{{background:#15803d;color:#fff}}
th{{text-align:left;padding-right:1em}}</style></head><body>
<h1>paywitness</h1><p>{html.escape(note)}</p>
<p>Current step: <b id="step">{html.escape(current)}</b></p>
<p>{steps}<a class="step finish" href="/finish">Finish</a></p>
<h2>Type these values when the shop asks</h2><table>{buyer}</table>
<h2>Certificate</h2><p>Install once: <a href="/ca.crt">paywitness-ca.crt</a>
(<a href="/ca.pem">PEM</a>). Remove it when you are done.</p></body></html>"""


class ControlPage:
    """Answers the control host's requests inside the proxy, before the recorder sees them."""

    def __init__(self, session: ControlledRun) -> None:
        self.session = session

    def _ca(self, der: bool) -> http.Response:
        pem = self.session.ca_cert_path.read_bytes()
        if not der:
            return http.Response.make(200, pem, {"content-type": "application/x-pem-file"})
        cert = x509.load_pem_x509_certificate(pem)
        body = cert.public_bytes(serialization.Encoding.DER)
        return http.Response.make(
            200,
            body,
            {
                "content-type": "application/x-x509-ca-cert",
                "content-disposition": 'attachment; filename="paywitness-ca.crt"',
            },
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # A response already set means the proxy refused the client (407): nothing to answer.
        if flow.response is not None or flow.request.pretty_host.lower() != MARKER_HOST:
            return
        flow.metadata["paywitness.marker"] = True
        parts = [p for p in flow.request.path.split("?", 1)[0].split("/") if p]
        if parts in ([], ["index.html"]):
            flow.response = http.Response.make(200, control_page_html(self.session), _HTML)
        elif parts in (["ca.crt"], ["ca.pem"]):
            flow.response = self._ca(der=parts == ["ca.crt"])
        elif len(parts) == 2 and parts[0] == "step" and STEP_NAME.match(parts[1]):
            self.session.mark(parts[1], source="marker-url")
            page = control_page_html(self.session, note=f"Step is now {parts[1]}.")
            flow.response = http.Response.make(200, page, _HTML)
        elif parts == ["finish"]:
            self.session.finish(source="marker-url")
            flow.response = http.Response.make(
                200, b"<p>paywitness: finished; the verdict is in the terminal.</p>", _HTML
            )
        else:
            flow.response = http.Response.make(
                404, b"paywitness: use /, /step/NAME, /finish or /ca.crt\n", {}
            )
