"""The recorder runs standalone under `mitmdump -s`, driven by a plain HTTP client."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from paywitness.ledger import read_ledger

ROOT = Path(__file__).resolve().parents[2]


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = f"{self.command} {self.headers['host']}{self.path}".encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def upstream() -> Iterator[int]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_port
    srv.shutdown()
    srv.server_close()


def test_mitmdump_with_recorder_script(tmp_path: Path, upstream: int) -> None:
    mitmdump = shutil.which("mitmdump", path=str(Path(sys.executable).parent))
    assert mitmdump, "mitmdump is installed with mitmproxy"
    ledger = tmp_path / "run.jsonl"
    proc = subprocess.Popen(
        [
            mitmdump,
            "--listen-host", "127.0.0.1",
            "--listen-port", "0",
            "--set", f"confdir={tmp_path / 'ca'}",
            "-s", str(ROOT / "proxy_addons" / "backend_recorder.py"),
            "-s", str(ROOT / "proxy_addons" / "host_map.py"),
            "--set", f"paywitness_profile={ROOT / 'fixtures' / 'profiles' / 'demo.yaml'}",
            "--set", f"paywitness_ledger={ledger}",
            "--set", f"paywitness_host_map=*.social.test=http://127.0.0.1:{upstream},"
            f"*.commerce.test=http://127.0.0.1:{upstream}",
            "--set", "paywitness_block_unmapped=true",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = None
        for line in proc.stdout:
            m = re.search(r"listening at .*:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "mitmdump did not report its port"
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"})
        )
        opener.open("http://paywitness.invalid/step/pay", timeout=10).read()
        body = opener.open(
            urllib.request.Request(
                "http://api.commerce.test/api/orders/5/pay", data=b"{}", method="POST"
            ),
            timeout=10,
        ).read()
        assert body == b"POST api.commerce.test/api/orders/5/pay"
        opener.open(
            urllib.request.Request("http://api.social.test/api/orders", data=b"{}"), timeout=10
        ).read()
        with pytest.raises(urllib.error.HTTPError) as blocked:
            opener.open("http://not-a-target.example/", timeout=10)
        assert blocked.value.code == 502
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    http = [r for r in read_ledger(ledger) if r.kind == "http"]
    got = [(r.step, r.method, r.host, r.role, r.payment_class) for r in http]
    assert got == [
        ("pay", "POST", "api.commerce.test", "commerce", "pay"),
        ("pay", "POST", "api.social.test", "social", "create-order"),
        ("pay", "GET", "not-a-target.example", "browser", None),
    ]
    assert all(r.server_addr == f"127.0.0.1:{upstream}" for r in http[:2])
    assert http[2].server_addr is None  # answered by the proxy, never dialled
