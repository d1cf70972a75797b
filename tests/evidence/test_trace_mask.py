"""A Playwright trace, masked: no cookie, credential or canary left inside, and it still loads.

The trace is recorded for real (headless Chromium against a loopback shop page that sets a
session cookie, sends a bearer token and has a canary typed into it), then masked, then opened
in Playwright's own trace viewer (served from the installed playwright package).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import threading
import zipfile
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote

import playwright
import pytest
from playwright.sync_api import Playwright

from paywitness.browser import find_chromium
from paywitness.canaries import Canary
from paywitness.evidence.redaction import Redactor
from paywitness.evidence.trace_mask import mask_trace, trace_problems

SESSION = "Zq8sessionValue7731xKp"  # the shop's session cookie
OTHER = "tracker-4455-abcdef"  # a second cookie, without "session" in its name
FRAME_MS = "1764331200006"  # a millisecond timestamp that passes the Luhn check
TOKEN = "tok_live_9f8e7d6c5b4a3210"
EMAIL = "sri.wahyuni.pw7q1a2b3c@example.com"
CHROMIUM = find_chromium(None, headless=True)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs a Chromium")

_PAGE = f"""<!doctype html><html><body>
<form><input id=email name=email></form><p id=out></p>
<script>
async function send() {{
  const email = document.getElementById('email').value;
  const r = await fetch('/api/order', {{method: 'POST',
    headers: {{'Authorization': 'Bearer {TOKEN}', 'Content-Type': 'application/json'}},
    body: JSON.stringify({{email: email, echo: document.cookie}})}});
  const j = await r.json();
  document.getElementById('out').textContent = j.email + ' ' + j.cookie;
  console.log('ordered for', email, document.cookie);
}}
</script></body></html>"""


class _Shop(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = _PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Set-Cookie", f"sid={SESSION}; Path=/")
        self.send_header("Set-Cookie", f"trk={OTHER}; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"email": data["email"], "cookie": self.headers.get("Cookie")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(
    handler: type[http.server.BaseHTTPRequestHandler] | functools.partial[object],
) -> tuple[http.server.ThreadingHTTPServer, str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture(scope="module")
def masked_trace(tmp_path_factory: pytest.TempPathFactory, pw_session: Playwright) -> Path:
    """A trace of a real purchase-like page, masked by the run's redactor."""
    out = tmp_path_factory.mktemp("trace") / "trace.zip"
    srv, url = _serve(_Shop)
    try:
        with nullcontext(pw_session) as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            context = browser.new_context()
            context.tracing.start(screenshots=True, snapshots=True)
            page = context.new_page()
            page.goto(url + "/")
            page.fill("#email", EMAIL)
            page.evaluate("send()")
            page.wait_for_function("document.getElementById('out').textContent.length > 0")
            context.tracing.stop(path=str(out))
            browser.close()
    finally:
        srv.shutdown()
    raw = _members(out)
    assert any(SESSION.encode() in d for d in raw.values()), "the raw trace holds the cookie"
    redactor = Redactor(salt=b"trace-test")
    redactor.add_canaries([Canary("email", EMAIL)])
    assert mask_trace(out, redactor) > 0
    return out


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_no_cookie_credential_or_canary_inside_the_masked_trace(masked_trace: Path) -> None:
    needles = {}
    for value in (SESSION, OTHER, TOKEN, EMAIL):
        for form in (value, value.lower(), value.upper(), quote(value, safe="")):
            needles[form] = value
        needles[base64.b64encode(value.encode()).decode()] = value
        needles[value.encode().hex()] = value
    leaks = [
        f"{value!r} ({form!r}) in {name}"
        for name, data in _members(masked_trace).items()
        for form, value in needles.items()
        if form.encode() in data
    ]
    assert leaks == []


def test_the_masked_trace_keeps_its_structure(masked_trace: Path) -> None:
    assert trace_problems(masked_trace) == []
    members = _members(masked_trace)
    network = [json.loads(line) for line in members["trace.network"].decode().splitlines()]
    post = next(e["snapshot"] for e in network if e["snapshot"]["request"]["method"] == "POST")
    cookies = post["request"]["cookies"]
    assert {c["name"] for c in cookies} == {"sid", "trk"}
    assert all(c["value"].startswith("[masked:") for c in cookies)
    auth = next(h for h in post["request"]["headers"] if h["name"].lower() == "authorization")
    assert auth["value"].startswith("[masked:")
    # The resource a masked body moved to exists under the SHA-1 of its new content.
    body = post["request"]["postData"]
    ref = body.get("_file") or f"resources/{body['_sha1']}"
    assert ref in members
    assert b"[canary:email:" in members[ref]


def test_playwright_trace_viewer_opens_the_masked_trace(
    masked_trace: Path, tmp_path: Path, pw_session: Playwright
) -> None:
    """The viewer shipped with the installed playwright, served on loopback, loads the trace."""
    viewer = Path(playwright.__file__).parent / "driver" / "package" / "lib" / "vite"
    viewer = viewer / "traceViewer"
    if not (viewer / "index.html").is_file():
        pytest.skip(f"this playwright has no bundled trace viewer at {viewer}")
    root = tmp_path / "viewer"
    shutil.copytree(viewer, root)
    shutil.copy(masked_trace, root / "trace.zip")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    srv, url = _serve(handler)
    errors: list[str] = []
    try:
        with nullcontext(pw_session) as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/index.html?trace={url}/trace.zip")
            page.wait_for_selector(".action-title", timeout=30_000)
            actions = page.locator(".action-title").all_inner_texts()
            page.get_by_text("Network", exact=True).first.click()
            network = page.get_by_role("tab").filter(has_text="Network").inner_text()
            browser.close()
    finally:
        srv.shutdown()
    assert any("Fill" in a for a in actions), actions
    count = int("".join(ch for ch in network if ch.isdigit()) or 0)
    assert count >= 2, network  # the page and its POST (and perhaps the favicon)
    assert errors == []


def test_member_names_that_look_like_card_numbers_keep_their_members(tmp_path: Path) -> None:
    """A member may be named after a millisecond timestamp, which can pass the Luhn check: the
    name is Playwright's reference to a member, never masked, or the member is lost."""
    frame = f"page@{'ab' * 16}-{FRAME_MS}.jpeg"
    trace = tmp_path / "trace.zip"
    records = [
        {"type": "after", "callId": "call@1", "attachments": [{"sha1": frame}]},
        {"type": "log", "message": f"card {FRAME_MS} typed"},  # a value, not a reference: masked
    ]
    with zipfile.ZipFile(trace, "w") as z:
        z.writestr("trace.trace", "".join(json.dumps(r) + "\n" for r in records))
        z.writestr(f"resources/{frame}", b"\xff\xd8jpeg")
    mask_trace(trace, Redactor(salt=b"t"))
    with zipfile.ZipFile(trace) as z:
        lines = [json.loads(x) for x in z.read("trace.trace").decode().splitlines()]
        assert lines[0]["attachments"][0]["sha1"] == frame
        assert f"resources/{frame}" in z.namelist()
    assert FRAME_MS not in lines[1]["message"]


def test_the_screencast_is_dropped_and_the_trace_still_loads(tmp_path: Path) -> None:
    """Screencast frames are pictures of the screen as the buyer typed: no text masking reaches
    them, so the masked trace keeps neither the frames nor their events, and nothing else."""
    trace = tmp_path / "trace.zip"
    frame = "screencast/page@1-1700000000000.jpeg"
    records = [
        {"type": "context-options", "version": 8},
        {"type": "screencast-frame", "pageId": "page@1", "sha1": frame, "timestamp": 1.0},
        {"type": "log", "message": "kept"},
    ]
    with zipfile.ZipFile(trace, "w") as z:
        z.writestr("trace.trace", "".join(json.dumps(r) + "\n" for r in records))
        z.writestr(frame, b"\xff\xd8jpeg")
    mask_trace(trace, Redactor(salt=b"t"))
    with zipfile.ZipFile(trace) as z:
        assert not [n for n in z.namelist() if n.startswith("screencast/")]
        kept = [json.loads(x)["type"] for x in z.read("trace.trace").decode().splitlines()]
    assert kept == ["context-options", "log"]
    assert trace_problems(trace) == []
