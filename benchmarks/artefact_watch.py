"""Artefact watch: the cost of tracking a purchase's payment artefacts in the proxy.

Run: ``python -m benchmarks.artefact_watch [--quick]``. Measures, as medians of repeats with the
machine's load printed beside them, the scanner rebuild when a test's artefacts grow (it runs on
the proxy's thread, in the answer that minted them) and the search of one flow (URL and a JSON
body of about 2 KB) for them. No figure has a target: these are costs to watch, not limits.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from benchmarks._common import Figure, Part, load_average, print_parts
from paywitness.artefacts import Minted
from proxy_addons.artefact_watch import ArtefactWatch

__all__ = ["run"]


def _hex(rng: random.Random, k: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(k))


def _values(rng: random.Random, n: int) -> list[Minted]:
    kinds = (("order-id", "ORD-"), ("payment-id", "ch_"), ("idempotency-key", "idem_"))
    return [
        Minted(kinds[i % 3][0], kinds[i % 3][1] + _hex(rng, 16), "$.x", "default") for i in range(n)
    ]


def _body(rng: random.Random) -> bytes:
    items = [
        {"sku": f"SKU-{rng.randrange(10**6)}", "name": "Batik tulis motif parang", "price": 189000}
        for _ in range(20)
    ]
    return json.dumps({"items": items, "note": "kirim sore"}).encode()


def run(*, quick: bool = False) -> Part:
    rng = random.Random(15)
    repeats = 3 if quick else 9
    scans = 50 if quick else 300
    part = Part("artefact watch (per test scope)", load_before=load_average())
    started = time.perf_counter()
    for n in (3, 6, 12):
        builds = []
        for _ in range(repeats):
            watch = ArtefactWatch()
            values = _values(rng, n)
            t = time.perf_counter()
            watch.add(values, "commerce", "t::one")
            builds.append(time.perf_counter() - t)
        part.figures.append(
            Figure(
                f"scanner rebuild, {n} artefacts in the test", statistics.median(builds) * 1e3, "ms"
            )
        )
    watch = ArtefactWatch()
    watch.add(_values(rng, 6), "commerce", "t::one")
    body = _body(rng)
    per_flow = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(scans):
            watch.scan("/api/products?merchant=m-batik&page=2", "url", test="t::one")
            watch.scan(body, "request.body", test="t::one", content_type="application/json")
        per_flow.append((time.perf_counter() - t) / scans)
    part.figures.append(
        Figure(
            "search of one flow (URL + 2 KB JSON), 6 artefacts",
            statistics.median(per_flow) * 1e3,
            "ms",
            detail=f"body {len(body)} B",
        )
    )
    part.notes.append("medians of repeats; the rebuild happens once per new value in a test")
    part.seconds = time.perf_counter() - started
    part.load_after = load_average()
    return part


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer repeats (a smoke run)")
    ns = parser.parse_args(argv)
    print_parts([run(quick=ns.quick)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
