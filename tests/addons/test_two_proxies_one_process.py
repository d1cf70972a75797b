"""Two in-process proxies at once, each on its own thread: every flow reaches the addons of the
proxy it came through.

mitmproxy keeps its running master in module globals (`mitmproxy.ctx`) and hands every new
client connection the master found there, so the last master created took the first one's
connections: its recorder saw none of its flows (seen in the journey benchmark). A test process
that holds the session's proxy and starts one of its own, or a library user with two
`RecordingSession`s, met the same.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mitmproxy import ctx, http

from paywitness.proxy import ProxyRunner


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


class _Seen:
    """Counts the flows this proxy's addons were given, and which proxy's options they read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.paths: list[str] = []
        self.options_of: list[str] = []

    def request(self, flow: http.HTTPFlow) -> None:
        self.paths.append(flow.request.path)
        self.options_of.append(ctx.options.confdir)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _get(proxy: ProxyRunner, url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    with opener.open(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_each_flow_reaches_the_addons_of_the_proxy_it_came_through(
    tmp_path: Path, upstream: str
) -> None:
    first, second = _Seen("first"), _Seen("second")
    with ProxyRunner([first], confdir=tmp_path / "a") as a:
        with ProxyRunner([second], confdir=tmp_path / "b") as b:
            assert _get(a, upstream + "/via-first") == b"hello"
            assert _get(b, upstream + "/via-second") == b"hello"
        # The second proxy has stopped: the first still works, with its own addons.
        assert _get(a, upstream + "/first-again") == b"hello"
    assert first.paths == ["/via-first", "/first-again"]
    assert second.paths == ["/via-second"]
    # Each addon read its own proxy's options (`ctx.options`, as every addon here does).
    assert first.options_of == [str(tmp_path / "a")] * 2
    assert second.options_of == [str(tmp_path / "b")]
