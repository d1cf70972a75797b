"""The recording session without a browser: one addon chain, and every record it did not
proxy itself stamped (test, step), classified and masked by `note`."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paywitness.buyers import make_buyer, make_card
from paywitness.canaries import CanarySet
from paywitness.errors import ConfigError
from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path, load_profile
from paywitness.proxy_process import ProxyProcess
from paywitness.run import RunContext
from paywitness.session import RecordingSession, Target


def _session(tmp_path: Path, *, own_process: bool = False, **kw: Any) -> RecordingSession:
    path = demo_profile_path()
    run = RunContext(output=tmp_path / "out", profile=load_profile(path), profile_path=path, seed=3)
    return RecordingSession(run, target=kw.pop("target", Target()), own_process=own_process, **kw)


def _addon_names(session: RecordingSession) -> list[str]:
    proxy = session._running()
    if isinstance(proxy, ProxyProcess):
        return proxy.addon_names()
    return [type(a).__name__ for a in proxy.addons]


@pytest.mark.parametrize("own_process", [False, True], ids=["thread", "process"])
def test_the_one_chain_and_note_stamps_and_masks(tmp_path: Path, own_process: bool) -> None:
    session = _session(tmp_path, own_process=own_process)
    buyer = make_buyer(3)
    canaries = CanarySet.from_buyer(buyer, make_card(3, "success")).canaries
    with session:
        names = _addon_names(session)
        assert names == [
            "FaultInjector",
            "CanaryWatch",
            "ArtefactWatch",
            "BackendRecorder",
            "HostMap",
            "HarCapture",
        ]  # TlsFailures joins only where the client's trust is not ours (witness mode)
        session.begin_test("t::one", canaries=session.register_canaries("t::one", canaries, 3))
        session.set_step("checkout")
        rec = session.note(
            "client", f"https://pay.gateway.test/v1/charges?email={buyer.email}&token=abc"
        )
        session.end_test("passed")
    assert (rec.test, rec.step, rec.role) == ("t::one", "checkout", "gateway")
    assert buyer.email not in rec.url
    assert "token=[masked" in rec.url
    records = list(read_ledger(session.run.ledger_path))
    assert [r.kind for r in records] == ["plant", "mark", "client", "mark"]
    assert records[-1].step == "unlabelled"
    assert records[-1].test == "t::one"
    assert buyer.email not in session.run.ledger_path.read_text()
    assert (session.run.output / "ca" / "proxy-ca-main.pem").is_file()


def test_finish_decides_once_and_writes_the_bundle(tmp_path: Path) -> None:
    session = _session(tmp_path)
    with session:
        session.begin_test("t::one")
        session.set_step("pay")
        session.end_test("error")
    result = session.finish()
    assert result.verdict is not None
    assert result.verdict.verdict == "inconclusive"  # too little observed, and t::one errored
    assert result.exit_code == 3
    assert result.scorecard is not None
    written = json.loads((result.bundle / "verdict.json").read_text())
    assert written["verdict"] == "inconclusive"
    assert written["meta"]["scenarios"] == {"t::one": "error"}
    assert (result.bundle / "MANIFEST.sha256").is_file()


def test_a_run_that_recorded_nothing_has_no_verdict(tmp_path: Path) -> None:
    result = _session(tmp_path).finish()
    assert (result.verdict, result.exit_code) == (None, 3)
    assert not result.bundle.exists()


class _Shop(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    """A plain HTTP server on a free loopback port (the commerce back end of these tests)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(proxy_url: str, url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    with opener.open(url, timeout=30) as r:
        return int(r.status)


def test_in_its_own_process_the_proxy_records_hits_and_masks_and_survives_nothing(
    tmp_path: Path, upstream: int
) -> None:
    """Flows are recorded by the child (canary hits found there, the URL masked alike); killed
    as a crash would, the parent goes on without error and every ledger line is whole."""
    target = Target(host_map=[f"shop.commerce.test=http://127.0.0.1:{upstream}"])
    session = _session(tmp_path, own_process=True, target=target)
    buyer = make_buyer(5)
    canaries = CanarySet.from_buyer(buyer, make_card(5, "success")).canaries
    with session:
        proxy = session._running()
        assert isinstance(proxy, ProxyProcess)
        assert proxy.pid is not None
        assert proxy.pid != os.getpid()
        session.begin_test("t::buy", canaries=session.register_canaries("t::buy", canaries, 5))
        session.set_step("pay")
        url = f"http://shop.commerce.test/orders?email={buyer.email}"
        assert _get(session.proxy_url, url) == 200
        os.kill(proxy.pid, signal.SIGKILL)
        proxy._proc.join(10)  # gone, as a crash leaves it
        session.set_step("confirm")  # no error: said once, the run goes on to its verdict
        lost = session.note("client", "https://shop.social.test/done")
        assert lost.id == ""
        session.end_test("failed")
    text = session.run.ledger_path.read_text()
    records = [json.loads(line) for line in text.splitlines()]  # every line whole
    flows = [r for r in records if r["kind"] == "http"]
    assert len(flows) == 1
    flow = flows[0]
    assert (flow["test"], flow["step"], flow["role"], flow["status"]) == (
        "t::buy",
        "pay",
        "commerce",
        200,
    )
    assert flow["canary_hits"], "the child's canary watch found the planted e-mail"
    assert {h["kind"] for h in flow["canary_hits"]} >= {"email"}
    assert buyer.email not in text  # masked by the child with the parent's salt and canaries
    assert [r["kind"] for r in records] == ["plant", "mark", "http"]
    result = session.finish()
    assert result.verdict is not None
    assert (result.verdict.verdict, result.exit_code) == ("inconclusive", 3)


def test_a_proxy_process_that_cannot_listen_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        session = _session(tmp_path, own_process=True, listen_port=port)
        with pytest.raises(ConfigError) as e:
            session.start()
    message = str(e.value)
    assert f"127.0.0.1:{port}" in message
    assert "choose another port" in message
    assert "\n" not in message
    assert "Traceback" not in message
    assert session.proxy is None  # nothing left running


def _check_writable_many(output: str) -> None:
    from paywitness.run import ensure_writable

    for _ in range(300):
        ensure_writable(Path(output))


def test_workers_checking_one_output_folder_at_once_all_pass(tmp_path: Path) -> None:
    """A run's xdist workers and its controller check the same folder together (CI: one
    worker's unlink of a shared probe file made another's check fail with ENOENT)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        pool.map(_check_writable_many, [str(tmp_path / "out")] * 4)
    assert list((tmp_path / "out").iterdir()) == []
