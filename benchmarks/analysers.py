"""Analysers: judging a synthetic 10,000-flow ledger, and the canary scanner's throughput.

Run: ``python -m benchmarks.analysers [--quick]``. The ledger is written to JSONL first and
read back, as ``paywitness report BUNDLE`` re-judges a stored bundle. The canary figures reuse
``benchmarks.canary_scan`` (its ledger generator and scan loops).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import canary_scan
from benchmarks._common import Figure, Part, load_average, print_parts

__all__ = ["run", "synthetic_ledger"]

_HOSTS = (
    ("shop.social.test", "social", "GET", "/"),
    ("static.social.test", "social", "GET", "/static/app.js"),
    ("events.social.test", "social", "POST", "/beacon"),
    ("checkout.commerce.test", "commerce", "GET", "/checkout"),
    ("api.commerce.test", "commerce", "POST", "/api/orders"),
    ("api.commerce.test", "commerce", "POST", "/api/orders/{n}/pay"),
    ("pay.gateway.test", "gateway", "POST", "/v1/charges"),
    ("invoice.commerce.test", "commerce", "GET", "/invoices/{n}"),
)
_STEPS = ("browse", "checkout", "pay", "confirm", "orders")


def synthetic_ledger(path: Path, flows: int, seed: int = 7) -> None:
    """`flows` records shaped like demo purchases (steps, marks, roles, payment endpoints)."""
    from paywitness.classify import Classifier
    from paywitness.ledger import FlowRecord, LedgerWriter
    from paywitness.profile import demo_profile_path, load_profile

    classifier = Classifier(load_profile(demo_profile_path()))
    rng = random.Random(seed)
    writer = LedgerWriter(path)
    t = 1_700_000_000.0
    try:
        for i in range(flows):
            if i % 40 == 0:
                writer.write(
                    FlowRecord(id=f"m-{i}", kind="mark", ts_start=t, ts_end=t, step=_STEPS[0])
                )
            host, _, method, template = rng.choice(_HOSTS)
            path_ = template.format(n=f"ord_{rng.getrandbits(32):08x}")
            c = classifier.classify(host, method, path_)
            t += rng.uniform(0.001, 0.05)
            writer.write(
                FlowRecord(
                    id=f"w-{i:06d}",
                    kind="http",
                    ts_start=t,
                    ts_end=t + 0.02,
                    step=_STEPS[(i // 8) % len(_STEPS)],
                    method=method,
                    url=f"https://{host}{path_}",
                    scheme="https",
                    host=host,
                    port=443,
                    path=path_,
                    server_addr=f"127.0.0.1:{40_000 + i % 3}",
                    http_version="HTTP/2.0",
                    status=200,
                    request_size=rng.randrange(0, 2_000),
                    response_size=rng.randrange(200, 60_000),
                    content_type="application/json",
                    role=c.role,
                    rule=c.rule,
                    payment_class=c.payment_class,
                    test=f"bench::purchase[{i // 40}]",
                    extra={"client_tls": "TLSv1.3", "server_tls": "TLSv1.3"},
                )
            )
    finally:
        writer.close()


def _judge_seconds(path: Path, runs: int) -> tuple[float, float, str]:
    """Median seconds to read the ledger, and to read and judge it; the verdict."""
    from paywitness.analysers import judge
    from paywitness.ledger import read_ledger
    from paywitness.profile import demo_profile_path, load_profile

    profile = load_profile(demo_profile_path())
    read_times, judge_times = [], []
    verdict = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        records = list(read_ledger(path))
        t1 = time.perf_counter()
        verdict = judge(records, profile).verdict
        t2 = time.perf_counter()
        read_times.append(t1 - t0)
        judge_times.append(t2 - t0)
    return statistics.median(read_times), statistics.median(judge_times), verdict


def run(quick: bool = False) -> list[Part]:
    from paywitness.buyers import make_buyer, make_card
    from paywitness.canaries import CanaryScanner, CanarySet

    runs = 5
    part = Part("Analysers: judging a ledger, scanning for canaries")
    part.load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paywitness-bench-ledger-") as tmp:
        path = Path(tmp) / "ledger.jsonl"
        synthetic_ledger(path, 10_000)
        size_mb = path.stat().st_size / 1e6
        read_s, judge_s, verdict = _judge_seconds(path, runs)
    part.figures += [
        Figure(
            "read + judge a 10,000-flow ledger, median",
            judge_s,
            "s",
            target="< 2 s",
            met=judge_s < 2.0,
            detail=f"verdict {verdict}",
        ),
        Figure("of which reading the JSONL", read_s, "s", detail=f"{size_mb:.1f} MB"),
    ]
    # Canary scan: the same generator and loops as benchmarks/canary_scan.py.
    salt = b"benchmark-salt"
    sets = [CanarySet.from_buyer(make_buyer(s), make_card(s), salt=salt) for s in range(4)]
    scanner = CanaryScanner(CanarySet(tuple(c for s in sets for c in s.canaries), salt))
    flows = canary_scan.build_ledger(500 if quick else 3_000, sets)
    mb = sum(f.size for f in flows) / 1e6
    raw_s, _ = canary_scan.timed(lambda: canary_scan.scan_flows(scanner, flows, False), runs)
    decode = flows[: 200 if quick else 1_000]
    decode_mb = sum(f.size for f in decode) / 1e6
    full_s, _ = canary_scan.timed(lambda: canary_scan.scan_flows(scanner, decode, True), runs)
    part.figures += [
        Figure("canary scan, raw bytes (one multi-pattern pass)", mb / raw_s, "MB/s"),
        Figure(
            "canary scan with every decoding layer",
            decode_mb / full_s,
            "MB/s",
            target=">= 25 MB/s",
            met=decode_mb / full_s >= 25,
        ),
    ]
    part.notes.append(
        f"judge: median of {runs} runs (wall clock); canary scan: median of {runs} runs in CPU "
        f"seconds of one core, over {len(flows)} synthetic flows ({mb:.1f} MB; decoding on "
        f"{len(decode)} of them); full comparison with the naive loop: "
        "python benchmarks/canary_scan.py"
    )
    part.seconds = time.perf_counter() - started
    part.load_after = load_average()
    return [part]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Fewer canary-scan flows")
    ns = ap.parse_args(argv)
    print_parts(run(ns.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
