"""Processes the load benchmarks talk to: an HTTPS upstream, and the proxy with its addons.

Each runs in its own process so that the load client, the proxy and the upstream never share a
GIL, and so that the proxy's RSS is its own. Both print one JSON line when ready and stop when
their stdin closes.

    python -m benchmarks._services upstream DIR
    python -m benchmarks._services proxy DIR UPSTREAM_PORT UPSTREAM_CA [--bare] [--stream SIZE]
    python -m benchmarks._services mapped DIR --map NAME=URL... [--upstream-ca CA]
        [--block-unmapped]

The proxy answers `rss` (after a `gc.collect()`) and `files` on stdin with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from benchmarks._common import rss_kib

if TYPE_CHECKING:
    from paywitness.session import RecordingSession

__all__ = [
    "BENCH_HOST",
    "Service",
    "harness_session",
    "start_mapped_proxy",
    "start_proxy",
    "start_upstream",
]

#: The upstream's name: mapped by the proxy's host map, and in the upstream's certificate.
BENCH_HOST = "bench.commerce.test"
_READY_TIMEOUT = 60.0


@dataclass
class Service:
    """A running service process and what it reported when ready."""

    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def port(self) -> int:
        return int(self.info["port"])

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(args: Sequence[str]) -> Service:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._services", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the child prints one line when ready, or dies
    if not line:
        proc.wait(timeout=_READY_TIMEOUT)
        raise RuntimeError(f"benchmark service {args[0]} exited with {proc.returncode}")
    return Service(proc, json.loads(line))


def start_upstream(directory: Path) -> Service:
    """The HTTPS upstream: `/small` (1 KB), `/blob/N` (N bytes of text), `/bin/N` (binary)."""
    return _spawn(["upstream", str(directory)])


def start_proxy(
    directory: Path, upstream: Service, *, bare: bool = False, stream: str | None = None
) -> Service:
    """The proxy as the harness runs it (a `RecordingSession`: its whole addon chain), or
    `bare` (mitmproxy with no addon)."""
    args = ["proxy", str(directory), str(upstream.port), str(upstream.info["ca"])]
    if bare:
        args.append("--bare")
    if stream:
        args += ["--stream", stream]
    return _spawn(args)


def start_mapped_proxy(
    directory: Path,
    host_map: Sequence[str],
    *,
    upstream_ca: Path | None = None,
    block_unmapped: bool = False,
) -> Service:
    """mitmproxy with one addon, the host map (`NAME=URL` entries): no recording, no analyser.
    The floor of an intercepting proxy that routes names as the harness's does."""
    args = ["mapped", str(directory), *(f"--map={entry}" for entry in host_map)]
    if upstream_ca is not None:
        args.append(f"--upstream-ca={upstream_ca}")
    if block_unmapped:
        args.append("--block-unmapped")
    return _spawn(args)


def harness_session(
    directory: Path,
    upstream_port: int,
    upstream_ca: Path,
    *,
    options: dict[str, Any] | None = None,
    own_process: bool = False,
) -> RecordingSession:
    """A started `RecordingSession` mapping BENCH_HOST to the upstream: the whole chain users
    run (fault injector idle, canary watch searching one buyer's canaries, recorder, host map,
    HAR capture), as one test of a run; mitmproxy on a thread here, or in its own process."""
    from paywitness.buyers import make_buyer, make_card
    from paywitness.canaries import CanarySet
    from paywitness.profile import demo_profile_path, load_profile
    from paywitness.run import RunContext
    from paywitness.session import RecordingSession, Target

    profile_path = demo_profile_path()
    run = RunContext(
        output=directory, profile=load_profile(profile_path), profile_path=profile_path, seed=1
    )
    session = RecordingSession(
        run,
        target=Target(
            host_map=[f"{BENCH_HOST}=https://127.0.0.1:{upstream_port}"],
            block_unmapped=True,
            upstream_ca=upstream_ca,
        ),
        proxy_options=options,
        own_process=own_process,
    )
    session.start()
    try:
        canaries = CanarySet.from_buyer(make_buyer(1), make_card(1, "success")).canaries
        session.begin_test("bench", canaries=session.register_canaries("bench", canaries, 1))
    except BaseException:
        session.stop()
        raise
    return session


# -- the child processes ----------------------------------------------------------------------
def _listening_socket() -> socket.socket:
    # IPPROTO_TCP explicitly: with proto 0 asyncio skips TCP_NODELAY (40 ms Nagle stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    sock.setblocking(False)
    return sock


def _serve_upstream(directory: Path, out: TextIO) -> None:
    from aiohttp import web

    # The demo's own certificate maker: one CA, one leaf for BENCH_HOST (and 127.0.0.1).
    from paywitness.demo._tls import make_pki

    pki = make_pki(directory / "upstream-tls", {"bench": ("Bench Upstream", [BENCH_HOST])})
    small = b"x" * 1024
    blobs: dict[int, bytes] = {}

    async def small_handler(request: web.Request) -> web.Response:
        return web.Response(body=small, content_type="text/plain")

    async def blob_handler(request: web.Request) -> web.Response:
        size = min(int(request.match_info["size"]), 8 * 1024 * 1024)
        if size not in blobs:
            line = b"paywitness benchmark body, text so that the HAR keeps it 0123456789\n"
            blobs[size] = (line * (size // len(line) + 1))[:size]
        return web.Response(body=blobs[size], content_type="text/plain")

    async def bin_handler(request: web.Request) -> web.Response:
        size = min(int(request.match_info["size"]), 8 * 1024 * 1024)
        key = -size  # binary bodies share the cache under a negative key
        if key not in blobs:
            blobs[key] = random.Random(size).randbytes(size)
        return web.Response(body=blobs[key], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/small", small_handler)
    app.router.add_get("/blob/{size}", blob_handler)
    app.router.add_get("/bin/{size}", bin_handler)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = _listening_socket()
        await web.SockSite(runner, sock, ssl_context=pki.server_context("bench")).start()
        port = sock.getsockname()[1]
        out.write(json.dumps({"port": port, "ca": str(pki.ca_cert_path)}) + "\n")
        out.flush()
        # Serve until the parent closes our stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


def _serve_proxy(ns: argparse.Namespace, out: TextIO) -> None:
    from paywitness.proxy import ProxyRunner
    from paywitness.proxy_process import ProxyProcess

    directory = Path(ns.dir)
    directory.mkdir(parents=True, exist_ok=True)
    ledger_path = directory / "ledger.jsonl"
    har_path = directory / "har-entries.jsonl"
    options: dict[str, Any] = {"stream_large_bodies": ns.stream} if ns.stream else {}
    proxy: ProxyRunner | ProxyProcess
    if ns.service == "mapped":
        from proxy_addons.host_map import HostMap

        options["paywitness_host_map"] = ns.map
        options["paywitness_block_unmapped"] = ns.block_unmapped
        if ns.upstream_ca:
            options["ssl_verify_upstream_trusted_ca"] = ns.upstream_ca
        proxy = ProxyRunner([HostMap()], confdir=directory / "proxy-ca", options=options)
        proxy.start()
        stop = proxy.stop
    elif ns.bare:
        # No paywitness addon: mitmproxy's own cost, the reference the harness is measured
        # against. Without the host map, the upstream name resolves through mitmproxy's DNS, so
        # the client CONNECTs to 127.0.0.1 instead.
        options["ssl_verify_upstream_trusted_ca"] = ns.upstream_ca
        proxy = ProxyRunner([], confdir=directory / "proxy-ca", options=options)
        proxy.start()
        stop = proxy.stop
    else:
        # In this process (already apart from the load client), so that its RSS is the proxy's.
        session = harness_session(
            directory, ns.upstream_port, Path(ns.upstream_ca), options=options
        )
        assert session.proxy is not None
        proxy = session.proxy
        stop = session.stop
    try:
        out.write(json.dumps({"port": proxy.port, "ca": str(proxy.ca_cert_path)}) + "\n")
        out.flush()
        for line in sys.stdin:
            command = line.strip()
            if command == "rss":
                gc.collect()
                answer: dict[str, Any] = {"rss_kib": rss_kib_self()}
            elif command == "files":
                answer = {
                    "ledger_bytes": ledger_path.stat().st_size if ledger_path.exists() else 0,
                    "har_bytes": har_path.stat().st_size if har_path.exists() else 0,
                }
            else:
                answer = {"error": f"unknown command {command!r}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        stop()


def rss_kib_self() -> int:
    import os

    return rss_kib(os.getpid())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="service", required=True)
    up = sub.add_parser("upstream")
    up.add_argument("dir")
    px = sub.add_parser("proxy")
    px.add_argument("dir")
    px.add_argument("upstream_port", type=int)
    px.add_argument("upstream_ca")
    px.add_argument("--bare", action="store_true")
    px.add_argument("--stream", metavar="SIZE", help="mitmproxy's stream_large_bodies, e.g. 64k")
    mapped = sub.add_parser("mapped")
    mapped.add_argument("dir")
    mapped.add_argument("--map", action="append", default=[], metavar="NAME=URL")
    mapped.add_argument("--upstream-ca")
    mapped.add_argument("--block-unmapped", action="store_true")
    mapped.set_defaults(stream=None)
    ns = ap.parse_args(argv)
    # Our stdout is the control channel: keep the libraries' chatter on stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    if ns.service == "upstream":
        _serve_upstream(Path(ns.dir), out)
    else:
        _serve_proxy(ns, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
