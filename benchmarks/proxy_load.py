"""Proxy latency per request (direct vs through the proxy, TLS on both legs) and proxy memory.

Run: ``python -m benchmarks.proxy_load [--quick]``.

* latency: one keep-alive HTTP/1.1 connection, sequential GETs of a 1 KB body, directly to the
  upstream, through a bare mitmproxy (no addon) and through the proxy as the harness runs it
  (recorder + host map + HAR capture); batches interleaved, p50 and p99 of every request. The
  harness's two ways of running as a test process starts them are measured too, with this load
  client in the role of the test: mitmproxy in its own process, and on a thread of this one
  (sharing the client's GIL).
* memory: the harness proxy's RSS before and after N flows with 100 KB text bodies (8 client
  connections); the growth says whether bodies or flows are held after they are recorded.

The upstream, the proxy and this load client are three processes on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import Figure, Part, load_average, percentile, print_parts
from benchmarks._services import (
    BENCH_HOST,
    Service,
    harness_session,
    start_proxy,
    start_upstream,
)

__all__ = ["Channel", "run"]

_HEAD_LIMIT = 64 * 1024


@dataclass
class Channel:
    """One keep-alive HTTP/1.1 connection, direct or tunnelled through the proxy (CONNECT)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(
        cls, port: int, ca: str, *, proxy_port: int | None = None, connect_host: str = BENCH_HOST
    ) -> Channel:
        ctx = ssl.create_default_context(cafile=ca)
        if proxy_port is None:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname=BENCH_HOST
            )
            return cls(reader, writer)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
        authority = f"{connect_host}:{port}"
        writer.write(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the proxy refused CONNECT {authority}: {head[:80]!r}")
        await writer.start_tls(ctx, server_hostname=BENCH_HOST)
        return cls(reader, writer)

    async def get(self, path: str) -> int:
        """GET `path`; returns the body size (the whole body is read)."""
        head = f"GET {path} HTTP/1.1\r\nHost: {BENCH_HOST}\r\nUser-Agent: paywitness-bench\r\n\r\n"
        self.writer.write(head.encode())
        await self.writer.drain()
        answer = await self.reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 200"):
            status = answer.split(b"\r\n", 1)[0]
            raise RuntimeError(f"GET {path} answered {status!r}")
        length = 0
        for line in answer.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return length

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass  # a peer that drops the TLS session first is not a benchmark failure


@dataclass
class LocalProxy:
    """The harness proxy started by this process (as a test process starts it)."""

    port: int
    info: dict[str, Any]


@contextmanager
def local_harness(directory: Path, upstream: Service, *, own_process: bool) -> Iterator[LocalProxy]:
    session = harness_session(
        directory, upstream.port, Path(upstream.info["ca"]), own_process=own_process
    )
    try:
        yield LocalProxy(session.proxy_port, {"ca": str(session.ca_cert_path)})
    finally:
        session.stop()


async def _latencies(
    service_port: int,
    ca: str,
    proxy: Service | LocalProxy | None,
    n: int,
    deadline: float,
    *,
    bare: bool,
) -> list[float]:
    if proxy is None:
        ch = await Channel.open(service_port, ca)
    else:
        ch = await Channel.open(
            service_port,
            str(proxy.info["ca"]),  # the client sees the proxy's certificates
            proxy_port=proxy.port,
            connect_host="127.0.0.1" if bare else BENCH_HOST,
        )
    out: list[float] = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            await ch.get("/small")
            out.append(time.perf_counter() - t0)
            if time.perf_counter() > deadline:
                break
    finally:
        await ch.close()
    return out


def measure_latency(
    upstream: Service,
    bare: Service,
    harness: Service,
    *,
    rounds: int,
    per_batch: int,
    local: dict[str, LocalProxy] | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """All request latencies per variant, and each batch's p50 per variant."""
    ca = str(upstream.info["ca"])
    variants: dict[str, Service | LocalProxy | None] = {
        "direct": None,
        "bare proxy": bare,
        "harness": harness,
        **(local or {}),
    }
    samples: dict[str, list[float]] = {v: [] for v in variants}
    batch_p50: dict[str, list[float]] = {v: [] for v in variants}
    names = list(variants)
    deadline = time.perf_counter() + 180  # bounded whatever the machine's load
    for r in range(rounds + 1):  # round 0 warms every path up and is discarded
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            got = asyncio.run(
                _latencies(
                    upstream.port,
                    ca,
                    variants[name],
                    per_batch,
                    deadline,
                    bare=name == "bare proxy",
                )
            )
            if r:
                samples[name] += got
                batch_p50[name].append(statistics.median(got))
    return samples, batch_p50


async def _load(
    port: int, proxy: Service, path: str, flows: int, connections: int, deadline: float
) -> int:
    done = 0

    async def worker() -> None:
        nonlocal done
        ch = await Channel.open(port, str(proxy.info["ca"]), proxy_port=proxy.port)
        try:
            while done < flows and time.perf_counter() < deadline:
                done += 1
                await ch.get(path)
        finally:
            await ch.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def measure_memory(
    upstream: Service, proxy: Service, *, path: str, flows: int, seconds: float
) -> dict[str, float]:
    """Proxy RSS (MiB) after a warm-up and after `flows` GETs of `path` (bounded in time)."""
    asyncio.run(_load(upstream.port, proxy, path, 100, 8, time.perf_counter() + 60))
    before = proxy.ask("rss")["rss_kib"] / 1024
    t0 = time.perf_counter()
    done = asyncio.run(_load(upstream.port, proxy, path, flows, 8, t0 + seconds))
    elapsed = time.perf_counter() - t0
    after = proxy.ask("rss")["rss_kib"] / 1024
    files = proxy.ask("files")
    return {
        "flows": done,
        "seconds": elapsed,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "growth_mib": after - before,
        "har_mib": files["har_bytes"] / 2**20,
        "ledger_mib": files["ledger_bytes"] / 2**20,
    }


def _rate(m: dict[str, float]) -> float:
    return m["flows"] / m["seconds"] if m["seconds"] else 0.0


_OWN = "started by the test, own process"
_THREAD = "started by the test, on its thread"


def run(quick: bool = False, *, latency_only: bool = False) -> list[Part]:
    # Quick mode (the suite's smoke test) only shows every part still runs and yields numbers.
    rounds, per_batch = (3, 30) if quick else (7, 200)
    flows = 100 if quick else 10_000
    text_flows = 30 if quick else 500
    mem_seconds = 60.0 if quick else 300.0
    size = 100 * 1024
    latency = Part("Proxy latency per request (loopback, TLS on both legs)")
    memory = Part(f"Proxy memory after {flows:,} flows with 100 KB bodies")
    with tempfile.TemporaryDirectory(prefix="paywitness-bench-") as tmp:
        root = Path(tmp)
        latency.load_before = load_average()
        t0 = time.perf_counter()
        with (
            start_upstream(root / "up") as upstream,
            start_proxy(root / "bare", upstream, bare=True) as bare,
            start_proxy(root / "harness", upstream) as harness,
            local_harness(root / "own", upstream, own_process=True) as own,
            local_harness(root / "thread", upstream, own_process=False) as thread,
        ):
            samples, batch_p50 = measure_latency(
                upstream,
                bare,
                harness,
                rounds=rounds,
                per_batch=per_batch,
                local={_OWN: own, _THREAD: thread},
            )
        latency.seconds = time.perf_counter() - t0
        latency.load_after = load_average()
        ms = {k: [x * 1000 for x in v] for k, v in samples.items()}
        p50 = {k: percentile(v, 50) for k, v in ms.items()}
        p99 = {k: percentile(v, 99) for k, v in ms.items()}
        for name in ms:
            latency.figures.append(Figure(f"{name}: request p50", p50[name], "ms"))
            latency.figures.append(Figure(f"{name}: request p99", p99[name], "ms"))
        latency.figures += [
            Figure("added by the harness proxy, p50", p50["harness"] - p50["direct"], "ms"),
            Figure("added by the harness proxy, p99", p99["harness"] - p99["direct"], "ms"),
            Figure(
                "of which the paywitness addons, p50",
                p50["harness"] - p50["bare proxy"],
                "ms",
            ),
            Figure(f"added, {_OWN}, p50", p50[_OWN] - p50["direct"], "ms"),
            Figure(f"added, {_THREAD}, p50", p50[_THREAD] - p50["direct"], "ms"),
        ]
        n = len(ms["direct"])
        latency.notes.append(
            f"{rounds} interleaved rounds x {per_batch} sequential requests per variant "
            f"({n} samples each), one keep-alive HTTP/1.1 connection, 1 KB body; batch p50 "
            "spread (ms): "
            + ", ".join(
                f"{k} {min(v) * 1000:.2f}-{max(v) * 1000:.2f}" for k, v in batch_p50.items()
            )
        )

        if latency_only:
            return [latency]
        memory.load_before = load_average()
        t0 = time.perf_counter()
        with (
            start_upstream(root / "up2") as upstream,
            start_proxy(root / "mem", upstream) as proxy,
        ):
            mem = measure_memory(
                upstream, proxy, path=f"/bin/{size}", flows=flows, seconds=mem_seconds
            )
            text = measure_memory(
                upstream, proxy, path=f"/blob/{size}", flows=text_flows, seconds=mem_seconds / 2
            )
        memory.seconds = time.perf_counter() - t0
        memory.load_after = load_average()
    memory.figures += [
        Figure("proxy RSS before (after 100 warm-up flows)", mem["rss_before_mib"], "MiB"),
        Figure(f"proxy RSS after {int(mem['flows']):,} binary flows", mem["rss_after_mib"], "MiB"),
        Figure(
            "proxy RSS growth, binary 100 KB bodies",
            mem["growth_mib"],
            "MiB",
            target="< 100 MiB",
            met=mem["growth_mib"] < 100,
            detail=f"{int(mem['flows'])} flows",
        ),
        Figure(
            "proxy RSS growth, then text 100 KB bodies",
            text["growth_mib"],
            "MiB",
            target="< 100 MiB",
            met=text["growth_mib"] < 100,
            detail=f"{int(text['flows'])} flows",
        ),
        Figure("flows/s, binary 100 KB bodies (8 connections)", _rate(mem), "flows/s"),
        Figure("flows/s, text 100 KB bodies (HAR keeps and masks 64 KB)", _rate(text), "flows/s"),
        Figure("HAR side file written (both runs)", text["har_mib"], "MiB"),
        Figure("ledger written (both runs)", text["ledger_mib"], "MiB"),
    ]
    memory.notes.append(
        f"binary: {int(mem['flows'])} of {flows} flows in {mem['seconds']:.0f} s; text: "
        f"{int(text['flows'])} of {text_flows} in {text['seconds']:.0f} s (each load loop stops "
        f"at its flow count or at {mem_seconds:.0f} s / {mem_seconds / 2:.0f} s)"
    )
    return [latency, memory]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Fewer requests and flows")
    ap.add_argument("--latency-only", action="store_true", help="Skip the memory part")
    ns = ap.parse_args(argv)
    print_parts(run(ns.quick, latency_only=ns.latency_only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
