"""The step page at http://paywitness.invalid/: step marks, Finish, the buyer values and the CA.

Answered by the proxy itself (the name never resolves, RFC 6761), only to clients that passed
proxy authentication: a phone opens it to install the CA, then taps the steps as it pays.
Everything with a side effect is a POST carrying a mark id, so a reload, a double tap or the
browser re-opening a tab never marks a step twice or finishes by accident.
"""

from __future__ import annotations

import html
import secrets
import threading
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import http, tls

from paywitness.buyers import Buyer, TestCard
from paywitness.classify import MARKER_HOST
from paywitness.records import STEP_NAME
from paywitness.witness_mode.checklist import STEP_HELP

__all__ = [
    "CONTROL_URL",
    "STEPS",
    "ControlPage",
    "ControlledRun",
    "MarkIds",
    "control_page_html",
]

# The standard steps, the storefront tabs (Shop, Orders) included: the ministry read both.
STEPS = ("browse", "checkout", "pay", "confirm", "shop", "orders")
CONTROL_URL = f"http://{MARKER_HOST}/"
_HTML = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
_CA_FILE = "paywitness-ca.crt"

_STYLE = """
*{box-sizing:border-box}
body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:10px;max-width:40em;color:#111}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.05em;margin:1em 0 .3em}
p{margin:.4em 0}.muted{color:#555;font-size:.9em}
.alert{background:#fee2e2;border:2px solid #b91c1c;padding:.5em;border-radius:6px}
.note{background:#f1f5f9;border:1px solid #94a3b8;padding:.5em;border-radius:6px}
.steps form{display:flex;gap:.5em;align-items:center;margin:.3em 0}
.steps button{min-width:6.5em;flex:none}
.steps span{font-size:.85em;color:#333;overflow-wrap:anywhere}
button,.button{font:inherit;padding:.55em .8em;border:1px solid #555;border-radius:6px;
background:#fff;color:#111;text-decoration:none;display:inline-block}
button.on{background:#2563eb;color:#fff}.finish{background:#15803d;color:#fff}
.copy{display:flex;gap:.3em;margin:.15em 0 .5em;align-items:center}.copy .v{flex:1;min-width:0;
padding:.4em;border:1px solid #94a3b8;border-radius:4px;overflow-wrap:anywhere;
font-family:ui-monospace,monospace}.copy button{padding:.4em .6em;flex:none}
label{font-size:.85em;color:#333}
"""

# Clipboard API needs a secure origin; this page is plain http, so select-and-copy it is.
_COPY_JS = """
document.querySelectorAll("button[data-copy]").forEach((b) => b.addEventListener("click", () => {
  const range = document.createRange();
  range.selectNodeContents(document.getElementById(b.dataset.copy));
  const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
  document.execCommand("copy"); b.textContent = "copied";
  setTimeout(() => { b.textContent = "copy"; }, 1500);
}));
"""


class ControlledRun(Protocol):
    """What the step page shows and moves: a witnessed run (`WitnessSession`)."""

    @property
    def steps(self) -> list[str]: ...

    @property
    def buyer(self) -> Buyer: ...

    @property
    def card(self) -> TestCard: ...

    @property
    def ca_cert_path(self) -> Path: ...

    @property
    def ca_name(self) -> str: ...

    @property
    def start_url(self) -> str: ...

    @property
    def finished(self) -> threading.Event: ...

    def mark(self, step: str, *, source: str) -> None: ...

    def finish(self, *, source: str) -> None: ...

    def role_of(self, host: str) -> str: ...

    def print(self, text: str) -> None: ...


class MarkIds:
    """Mark ids handed out with a page and used at most once (a reload never marks twice)."""

    def __init__(self) -> None:
        self._issued: set[str] = set()
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(9)
        with self._lock:
            self._issued.add(token)
        return token

    def use(self, token: str, action: str) -> bool:
        """True the first time `action` is taken with `token` (one page offers several)."""
        key = f"{token}:{action}"
        with self._lock:
            if token not in self._issued or key in self._used:
                return False
            self._used.add(key)
            return True


def _copy_row(label: str, value: str, n: int) -> str:
    v = html.escape(value)
    return (
        f'<label for="v{n}">{html.escape(label)}</label><div class="copy">'
        f'<span class="v" id="v{n}">{v}</span><button type="button" data-copy="v{n}">copy'
        "</button></div>"
    )


def control_page_html(
    session: ControlledRun,
    token: str,
    *,
    note: str = "",
    refused: dict[str, str] | None = None,
    setup_refused: list[str] | None = None,
) -> str:
    """The step page: current step, step buttons with their meaning, start URL, buyer, CA."""
    current = session.steps[-1] if session.steps else "none"
    finished = session.finished.is_set()
    b, c = session.buyer, session.card
    values = [
        ("Name", b.name),
        ("Email", b.email),
        ("Phone", b.phone),
        ("Address", f"{b.street_address}, {b.city} {b.postcode}"),
        ("Card number", c.number),
        ("Expiry", c.expiry),
        ("CVC", c.cvc),
    ]
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>paywitness</title><style>{_STYLE}</style></head><body>",
        f"<h1>paywitness</h1><p class=muted>{html.escape(session.ca_name)}</p>",
    ]
    if note:
        parts.append(f'<p class="note" id="note">{html.escape(note)}</p>')
    for host, step in sorted((refused or {}).items()):
        parts.append(
            f'<p class="alert" data-refused="{html.escape(host)}">{html.escape(host)} refused '
            f"this run's certificate during step {html.escape(step)}: that traffic cannot be "
            "inspected (the app does not trust the certificate, or pins its own).</p>"
        )
    if setup_refused:
        parts.append(
            f'<p class="note">Before the first step {html.escape(", ".join(setup_refused))} '
            "refused the certificate: it was not installed yet. That is setup and does not "
            "count.</p>"
        )
    if finished:
        parts.append(
            "<p><b>Finished.</b> The verdict is in the terminal. Turn the phone's proxy off and "
            "remove the certificate.</p></body></html>"
        )
        return "".join(parts)
    parts += [
        f'<p>Current step: <b id="step">{html.escape(current)}</b></p>',
        "<h2>1. Open the shop</h2>",
        _copy_row("Start here", session.start_url, 0),
        f'<p><a class="button" id="start" href="{html.escape(session.start_url)}">'
        "Open the shop</a></p>",
        "<h2>2. Mark each step as you reach it</h2><div class=steps>",
    ]
    for s in STEPS:
        on = ' class="on"' if s == current else ""
        parts.append(
            f'<form method="post" action="/mark?step={s}&amp;id={token}">'
            f'<button{on} data-step="{s}">{s}</button>'
            f"<span>{html.escape(STEP_HELP[s])}</span></form>"
        )
    parts += [
        "</div>",
        '<p><a class="button finish" id="finish" href="/finish">Finish…</a> '
        '<span class="muted">asks once more before it ends the run</span></p>',
        "<h2>3. Type exactly these values when the shop asks</h2>",
        *(_copy_row(k, v, n) for n, (k, v) in enumerate(values, 1)),
        "<h2>Certificate</h2>",
        f'<p>Install once: <a href="/ca.crt" id="ca">{_CA_FILE}</a> (<a href="/ca.pem">PEM</a>). '
        f"It is named <b>{html.escape(session.ca_name)}</b>; remove it when you are done.</p>",
        f"<script>{_COPY_JS}</script></body></html>",
    ]
    return "".join(parts)


def _finish_page(token: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>paywitness: finish?</title><style>{_STYLE}</style></head><body>"
        "<h1>Finish this run?</h1><p>paywitness stops recording and judges what it saw. "
        "Finish only when the purchase is done.</p>"
        f'<form method="post" action="/finish?id={token}"><button class="finish" '
        'id="confirm-finish">Yes, finish now</button></form>'
        '<p><a class="button" href="/">No, back to the steps</a></p></body></html>'
    )


class ControlPage:
    """Answers the control host's requests inside the proxy, before the recorder sees them;
    reports refused certificates the moment they happen (terminal and step page)."""

    def __init__(self, session: ControlledRun) -> None:
        self.session = session
        self.marks = MarkIds()
        #: host -> step of the first refusal during the purchase (shown on the step page)
        self.refused: dict[str, str] = {}
        self.setup_refused: list[str] = []
        self._lock = threading.Lock()

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
                "content-disposition": f'attachment; filename="{_CA_FILE}"',
            },
        )

    def _page(self, note: str = "") -> http.Response:
        with self._lock:
            refused, setup = dict(self.refused), list(self.setup_refused)
        page = control_page_html(
            self.session, self.marks.issue(), note=note, refused=refused, setup_refused=setup
        )
        return http.Response.make(200, page, _HTML)

    @staticmethod
    def _see_other(note: str) -> http.Response:
        # Post/Redirect/Get: reloading the page that follows a mark repeats nothing.
        return http.Response.make(303, b"", {"location": f"/?note={quote(note)}"})

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # A response already set means the proxy refused the client (407): nothing to answer.
        if flow.response is not None or flow.request.pretty_host.lower() != MARKER_HOST:
            return
        flow.metadata["paywitness.marker"] = True
        path, _, query = flow.request.path.partition("?")
        parts = [p for p in path.split("/") if p]
        args = {k: v[0] for k, v in parse_qs(query).items()}
        post = flow.request.method == "POST"
        if parts in ([], ["index.html"]):
            flow.response = self._page(args.get("note", "")[:80])
        elif parts in (["ca.crt"], ["ca.pem"]):
            flow.response = self._ca(der=parts == ["ca.crt"])
        elif parts == ["mark"] and post:
            flow.response = self._mark(args.get("step", ""), args.get("id", ""))
        elif parts == ["finish"] and post:
            if self.marks.use(args.get("id", ""), "finish"):
                self.session.finish(source="marker-url")
            flow.response = self._page()
        elif parts == ["finish"]:
            flow.response = http.Response.make(200, _finish_page(self.marks.issue()), _HTML)
        elif len(parts) == 2 and parts[0] == "step":
            # An old-style GET link marks nothing: side effects need the page's button.
            flow.response = self._page(f"Tap the {parts[1]!r} button to mark that step.")
        else:
            flow.response = http.Response.make(
                404, b"paywitness: open http://paywitness.invalid/\n", {}
            )

    def _mark(self, step: str, token: str) -> http.Response:
        if step not in STEPS or not STEP_NAME.match(step):
            return self._see_other(f"{step!r} is not a step")
        if self.session.finished.is_set():
            return self._see_other("The run is finished.")
        if not self.marks.use(token, step):
            return self._see_other(f"Already marked {step} from this page; nothing changed.")
        self.session.mark(step, source="marker-url")
        return self._see_other(f"Step is now {step}.")

    # -- refused certificates -----------------------------------------------------------------
    def tls_failed_client(self, data: tls.TlsData) -> None:
        client = data.context.client
        server = data.context.server
        host = (client.sni or (server.address[0] if server.address else "") or "").lower()
        if not host or self.session.finished.is_set():
            return
        role = self.session.role_of(host)
        if role in ("browser", "paywitness"):
            return  # the browser's own background traffic is not the shop's
        steps = self.session.steps
        with self._lock:
            if not steps:
                if host in self.setup_refused:
                    return
                self.setup_refused.append(host)
                message = (
                    f"paywitness: setup: {host} refused this run's certificate before the first "
                    "step: the certificate was not installed yet (this does not count)"
                )
            else:
                if host in self.refused:
                    return
                self.refused[host] = steps[-1]
                message = (
                    f"paywitness: WARNING: {host} ({role}) refused this run's certificate during "
                    f"step {steps[-1]}: its traffic cannot be inspected (the app does not trust "
                    "the certificate, or pins its own); the verdict cannot pass on it"
                )
        self.session.print(message)
