"""Harness overhead on the standard card purchase, and against Playwright's own HAR recording.

Run: ``python -m benchmarks.journey [--quick] [--rounds N]``.

One demo shop, one proxy and one Chromium serve every variant; each run is a new browser
context, the standard purchase of ``fixtures/profiles/demo.yaml`` (browse, checkout, pay,
confirm, open the invoice), then the context is closed. Variants, interleaved round by round:

* direct:     no proxy, no analysers; the demo reached over TLS through Chromium's
              ``--host-resolver-rules``, its certificates trusted by SPKI;
* harness:    through the proxy with the recorder, host map and HAR capture (the addons of
              ``paywitness.pytest_fixtures``), steps labelled, canaries registered, and the
              run judged from the ledger at the end;
* playwright-har: direct, with Playwright's ``record_har_path`` (written when the context closes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import Figure, Part, interleaved, load_average, paired_ratio, print_parts

__all__ = ["run"]


class _NoWitness:
    """The purchase's witness with nothing behind it: what a plain Playwright test does."""

    def __init__(self, start_url: str) -> None:
        self.start_url = start_url

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        yield

    def link(self, kind: str, url: str) -> None:
        return None


def run(quick: bool = False, rounds: int | None = None) -> list[Part]:
    from playwright.sync_api import sync_playwright

    from paywitness.browser import CHROMIUM_ARGS, find_chromium
    from paywitness.buyers import make_buyer, make_card
    from paywitness.canaries import Canary, CanarySet
    from paywitness.classify import Classifier
    from paywitness.demo import COMPANY_HOSTS, DemoShop
    from paywitness.evidence.redaction import Redactor
    from paywitness.flow import BuyerValues, run_purchase
    from paywitness.ledger import LedgerWriter
    from paywitness.profile import demo_profile_path, load_profile
    from paywitness.proxy import ProxyRunner, spki_sha256_b64
    from paywitness.witness import Witness
    from proxy_addons.backend_recorder import BackendRecorder
    from proxy_addons.har_capture import HarCapture
    from proxy_addons.host_map import HostMap

    rounds = rounds or (3 if quick else 5)
    part = Part("Harness overhead: the standard card purchase (same browser, new context per run)")
    part.load_before = load_average()
    started = time.perf_counter()
    profile = load_profile(demo_profile_path())
    hints = profile.flow
    assert hints is not None
    with tempfile.TemporaryDirectory(prefix="paywitness-bench-journey-") as tmp:
        root = Path(tmp)
        shop = DemoShop(data_dir=root / "demo")
        shop.start()
        ledger = LedgerWriter(root / "ledger.jsonl")
        redactor = Redactor()
        recorder = BackendRecorder(classifier=Classifier(profile), ledger=ledger)
        recorder.mask_text = redactor.text
        har = HarCapture(redactor=redactor, path=root / "har-entries.jsonl")
        assert shop.ca_cert_path is not None
        proxy = ProxyRunner(
            [recorder, HostMap(), har],
            confdir=root / "proxy-ca",
            options={
                "paywitness_host_map": [f"{h}={u}" for h, u in sorted(shop.host_map.items())],
                "paywitness_block_unmapped": True,
                "ssl_verify_upstream_trusted_ca": str(shop.ca_cert_path),
            },
        )
        proxy.start()
        # The demo's leaf certificates have their own keys: trust each by SPKI, and the proxy CA
        # (whose key every certificate the proxy makes shares).
        spkis = [spki_sha256_b64(root / "demo" / "tls" / f"{c}-cert.pem") for c in COMPANY_HOSTS]
        spkis.append(proxy.ca_spki)
        launch: dict[str, Any] = {
            "headless": True,
            "args": [
                *CHROMIUM_ARGS,
                f"--host-resolver-rules={shop.resolver_rules()}",
                f"--ignore-certificate-errors-spki-list={','.join(spkis)}",
            ],
        }
        chromium = find_chromium()
        if chromium is not None:
            launch["executable_path"] = str(chromium)
        verdicts: list[str] = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(**launch)

                def buyer_values(seed: int) -> BuyerValues:
                    return BuyerValues.of(make_buyer(seed), make_card(seed, "success"))

                def direct(r: int) -> None:
                    context = browser.new_context()
                    page = context.new_page()
                    run_purchase(page, _NoWitness(profile.start_url), hints, buyer_values(r))
                    context.close()

                def playwright_har(r: int) -> None:
                    context = browser.new_context(record_har_path=root / f"pw-{r}.har")
                    page = context.new_page()
                    run_purchase(page, _NoWitness(profile.start_url), hints, buyer_values(r))
                    context.close()  # the HAR is written here

                def harness(r: int) -> None:
                    test_id = f"bench::purchase[{r}]"
                    buyer, card = make_buyer(r), make_card(r, "success")
                    redactor.add_canaries(
                        [*CanarySet.from_buyer(buyer).canaries, Canary("card", card.number)]
                    )
                    recorder.test = test_id
                    witness = Witness(
                        recorder=recorder,
                        profile=profile,
                        ledger_path=root / "ledger.jsonl",
                        test_id=test_id,
                        seed=r,
                    )
                    context = browser.new_context(proxy={"server": proxy.url})
                    page = context.new_page()
                    run_purchase(page, witness, hints, BuyerValues.of(buyer, card))
                    context.close()
                    recorder.set_step("unlabelled")
                    verdicts.append(witness.judge().verdict)

                variants = {"direct": direct, "harness": harness, "playwright-har": playwright_har}
                for fn in variants.values():  # warm-up: first navigations, caches, JIT
                    fn(10_000)
                times = interleaved(variants, rounds)
                browser.close()
        finally:
            proxy.stop()  # the browser is closed first: no CancelledError noise
            ledger.close()
            shop.stop()
    part.seconds = time.perf_counter() - started
    part.load_after = load_average()
    med = {k: statistics.median(v) for k, v in times.items()}
    overhead = paired_ratio(times, "harness", "direct")
    vs_har = paired_ratio(times, "harness", "playwright-har")
    part.figures += [
        Figure("direct purchase (no proxy, no analysers), median", med["direct"], "s"),
        Figure("harness purchase (proxy + addons + judge), median", med["harness"], "s"),
        Figure("Playwright record_har_path purchase, median", med["playwright-har"], "s"),
        Figure(
            "harness overhead ratio (harness / direct)",
            overhead,
            "x",
            target="<= 1.10x",
            met=overhead <= 1.10,
        ),
        Figure(
            "harness / Playwright HAR recording",
            vs_har,
            "x",
            target="<= 1.00x",
            met=vs_har <= 1.00,
        ),
        Figure(
            "Playwright HAR / direct",
            paired_ratio(times, "playwright-har", "direct"),
            "x",
        ),
    ]
    part.notes.append(
        f"{rounds} interleaved rounds after one warm-up run of each variant; ratios are the "
        "median of the per-round ratios; all runs (s): "
        + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in times.items())
    )
    part.notes.append(
        f"harness verdicts: {', '.join(sorted(set(verdicts)))} ({len(verdicts)} judged runs)"
    )
    return [part]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds instead of 5")
    ap.add_argument("--rounds", type=int, help="Interleaved rounds (each runs every variant)")
    ns = ap.parse_args(argv)
    print_parts(run(ns.quick, ns.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
