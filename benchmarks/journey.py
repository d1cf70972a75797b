"""Harness overhead on the standard card purchase, and against Playwright's own HAR recording.

Run: ``python -m benchmarks.journey [--quick] [--rounds N]``.

One demo shop, one proxy and one Chromium serve every variant; each run is a new browser
context, the standard purchase of ``fixtures/profiles/demo.yaml`` (browse, checkout, pay,
confirm, open the invoice), then the context is closed. Variants, interleaved round by round:

* direct:     no proxy, no analysers; the demo reached over TLS through Chromium's
              ``--host-resolver-rules``, its certificates trusted by SPKI;
* harness:    through a ``RecordingSession`` — the whole addon chain users run (fault injector
              idle, canary watch, recorder, host map, HAR capture, TLS failures) — with a test
              begun per purchase (its canaries searched), steps labelled, coverage, client
              channels and the continuity probe on the context, and the test judged from the
              ledger at the end; mitmproxy on a thread of this process (the one that drives
              Playwright), as the pytest plugin runs it by default;
* harness-own-process: the same, with mitmproxy in a process of its own, as
              ``--paywitness-proxy process`` runs it;
* playwright-har: direct, with Playwright's ``record_har_path`` (written when the context closes);
* bare-proxy: through mitmproxy with one addon, the host map that routes the demo's names to its
              servers: no recording, no analyser (`_services.start_mapped_proxy`). The floor of
              any intercepting proxy on this purchase, which the harness's figures stand on. In
              a process of its own, so that its CPU never competes with this process's GIL
              (two masters on threads of one process once shared mitmproxy's global `ctx`, and
              the first one's recorder saw none of its flows; `paywitness.proxy` now keeps
              that `ctx` per thread, see tests/addons/test_two_proxies_one_process.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import Figure, Part, interleaved, load_average, paired_ratio, print_parts
from benchmarks._services import start_mapped_proxy

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
    from paywitness.client_channels import ClientChannels
    from paywitness.coverage import ClientWatch
    from paywitness.demo import COMPANY_HOSTS
    from paywitness.flow import BuyerValues, run_purchase
    from paywitness.profile import demo_profile_path, load_profile
    from paywitness.proxy import spki_sha256_b64
    from paywitness.run import RunContext
    from paywitness.seamless.probe import ContinuityProbe
    from paywitness.session import RecordingSession
    from paywitness.witness import Witness

    rounds = rounds or (3 if quick else 5)
    part = Part("Harness overhead: the standard card purchase (same browser, new context per run)")
    part.load_before = load_average()
    started = time.perf_counter()
    profile_path = demo_profile_path()
    profile = load_profile(profile_path)
    hints = profile.flow
    assert hints is not None
    with tempfile.TemporaryDirectory(prefix="paywitness-bench-journey-") as tmp:
        root = Path(tmp)
        run_ctx = RunContext(
            output=root / "bundle", profile=profile, profile_path=profile_path, seed=1, demo=True
        )
        session = RecordingSession(run_ctx)  # as the pytest plugin runs it by default
        session.start()  # the demo shop too: the direct variants reach the same shop
        assert session.target is not None
        assert session.target.demo is not None
        # The same chain in a process of its own, against the same demo shop.
        run_own = RunContext(
            output=root / "bundle-own-process",
            profile=profile,
            profile_path=profile_path,
            seed=1,
            demo=True,
        )
        session_own = RecordingSession(run_own, target=session.target, own_process=True)
        try:
            session_own.start()
        except BaseException:
            session.stop()
            raise
        # mitmproxy with the host map alone, in a process of its own.
        target = session.target
        try:
            bare = start_mapped_proxy(
                root / "bare-proxy",
                target.host_map,
                upstream_ca=target.upstream_ca,
                block_unmapped=target.block_unmapped,
            )
        except BaseException:
            session_own.stop()
            session.stop()
            raise
        shop = session.target.demo
        assert shop.ca_cert_path is not None
        # The demo's leaf certificates have their own keys: trust each by SPKI, and the proxy CA
        # (whose key every certificate the proxy makes shares).
        tls_dir = shop.ca_cert_path.parent
        spkis = [spki_sha256_b64(tls_dir / f"{c}-cert.pem") for c in COMPANY_HOSTS]
        spkis += [session.ca_spki, session_own.ca_spki, spki_sha256_b64(Path(bare.info["ca"]))]
        launch: dict[str, Any] = {
            "headless": True,
            "args": [
                *CHROMIUM_ARGS,
                f"--host-resolver-rules={shop.resolver_rules()}",
                f"--ignore-certificate-errors-spki-list={','.join(spkis)}",
            ],
        }
        chromium = find_chromium(headless=True)
        if chromium is not None:
            launch["executable_path"] = str(chromium)
        verdicts: list[str] = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(**launch)

                def buyer_values(seed: int) -> BuyerValues:
                    return BuyerValues.of(make_buyer(seed), make_card(seed, "success"))

                def plain(r: int, **context_options: Any) -> None:
                    """The purchase with nothing of paywitness's: a plain Playwright test."""
                    context = browser.new_context(**context_options)
                    page = context.new_page()
                    run_purchase(page, _NoWitness(profile.start_url), hints, buyer_values(r))
                    context.close()  # Playwright's HAR, when asked for, is written here

                bare_url = f"http://127.0.0.1:{bare.port}"

                def harness_with(
                    session: RecordingSession, run_ctx: RunContext
                ) -> Callable[[int], None]:
                    return lambda r: harness(session, run_ctx, r)

                def harness(session: RecordingSession, run_ctx: RunContext, r: int) -> None:
                    test_id = f"bench::purchase[{r}]"
                    if session.target is not None and session.target.demo is not None:
                        session.target.demo.restock()  # the shop is shared by both sessions
                    buyer, card = make_buyer(r), make_card(r, "success")
                    canaries = [*CanarySet.from_buyer(buyer).canaries, Canary("card", card.number)]
                    data = session.begin_test(
                        test_id, canaries=session.register_canaries(test_id, canaries, r)
                    )
                    witness = Witness(
                        book=session.book,
                        profile=profile,
                        ledger_path=run_ctx.ledger_path,
                        test_id=test_id,
                        seed=r,
                    )
                    context = browser.new_context(proxy={"server": session.proxy_url})
                    ClientWatch(session.book).watch(context)
                    channels = ClientChannels(session.book, data.scan)
                    channels.attach(context)
                    witness.step_hooks.append(channels.step_hook)
                    witness.plant_hooks.append(data.plant)
                    probe = ContinuityProbe(context, session.book, profile)
                    page = context.new_page()
                    probe.attach(page)
                    witness.observer = probe
                    run_purchase(page, witness, hints, BuyerValues.of(buyer, card))
                    channels.snapshot()
                    context.close()
                    probe.close()
                    session.end_test("passed")
                    judged = witness.judge()
                    statuses = ", ".join(f"{k} {c.status}" for k, c in judged.categories.items())
                    verdicts.append(f"{judged.verdict} ({statuses})")

                variants: dict[str, Callable[[int], None]] = {
                    "direct": plain,
                    "harness": harness_with(session, run_ctx),
                    "harness-own-process": harness_with(session_own, run_own),
                    "playwright-har": lambda r: plain(r, record_har_path=root / f"pw-{r}.har"),
                    "bare-proxy": lambda r: plain(r, proxy={"server": bare_url}),
                }
                for fn in variants.values():  # warm-up: first navigations, caches, JIT
                    fn(10_000)
                times = interleaved(variants, rounds)
                browser.close()
        finally:
            bare.stop()
            session_own.stop()  # the browser is closed first: no CancelledError noise
            session.stop()
    part.seconds = time.perf_counter() - started
    part.load_after = load_average()
    med = {k: statistics.median(v) for k, v in times.items()}
    overhead = paired_ratio(times, "harness", "direct")
    vs_har = paired_ratio(times, "harness", "playwright-har")
    part.figures += [
        Figure("direct purchase (no proxy, no analysers), median", med["direct"], "s"),
        Figure("harness purchase (proxy + addons + judge), median", med["harness"], "s"),
        Figure(
            "harness purchase, proxy in its own process, median",
            med["harness-own-process"],
            "s",
        ),
        Figure("Playwright record_har_path purchase, median", med["playwright-har"], "s"),
        Figure(
            "bare mitmproxy purchase (host map only, own process), median", med["bare-proxy"], "s"
        ),
        Figure(
            "harness overhead ratio (harness / direct)",
            overhead,
            "x",
            target="<= 1.05x",
            met=overhead <= 1.05,
        ),
        Figure(
            "harness / Playwright HAR recording",
            vs_har,
            "x",
            target="<= 1.02x",
            met=vs_har <= 1.02,
        ),
    ]
    part.figures += [
        Figure(label, paired_ratio(times, a, b), "x")
        for label, a, b in (
            ("proxy in its own process / on the test's thread", "harness-own-process", "harness"),
            ("Playwright HAR / direct", "playwright-har", "direct"),
            (
                "bare mitmproxy / direct (the floor of an intercepting proxy here)",
                "bare-proxy",
                "direct",
            ),
            (
                "harness / bare mitmproxy (what paywitness adds to the proxy)",
                "harness",
                "bare-proxy",
            ),
        )
    ]
    part.notes.append(
        f"{rounds} interleaved rounds after one warm-up run of each variant; ratios are the "
        "median of the per-round ratios; all runs (s): "
        + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in times.items())
    )
    part.notes.append(
        f"harness verdicts: {'; '.join(sorted(set(verdicts)))} ({len(verdicts)} judged runs; "
        "a benchmark purchase has no baseline, so seamless checks that need one are not judged "
        "and the verdict cannot pass)"
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
