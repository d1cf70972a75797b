"""Ledger completeness under load: 8 browser contexts buy at once through one proxy, faults on.

The demo servers' own access logs are the ground truth: every request they answered must be in
the ledger exactly once, attributed to the role of the company that answered it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from paywitness.browser import CHROMIUM_ARGS, find_chromium
from paywitness.buyers import make_buyer, make_card
from paywitness.classify import Classifier
from paywitness.demo import DemoShop
from paywitness.faults import parse_fault_rules
from paywitness.flow import BuyerValues
from paywitness.ledger import FlowRecord, LedgerWriter, read_ledger
from paywitness.profile import Profile
from paywitness.proxy import ProxyRunner
from paywitness.records import RecordBook
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.fault_injector import FaultInjector
from proxy_addons.host_map import HostMap

CONTEXTS = 8
FETCHES_PER_PAGE = 110
FAULTS = [
    "host=api.commerce.test path=/api/products delay=5 first=200",
    "host=api.commerce.test path=/api/merchants status=503 first=40",
    "role=gateway endpoint=charge delay=200",
]
# Extra traffic from each page, like a busy storefront polling its catalog.
_FETCH_JS = """async (n) => {
  const paths = ["/api/products?merchant=m-batik", "/api/merchants", "/media/BTK-001.svg"];
  const all = [];
  for (let i = 0; i < n; i++) {
    const url = "https://api.commerce.test" + paths[i % 3] + (i % 3 === 2 ? "?v=" + i : "");
    all.push(fetch(url, {cache: "no-store"}).then((r) => r.status).catch(() => 0));
  }
  return Promise.all(all);
}"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoShop]:
    s = DemoShop(data_dir=tmp_path_factory.mktemp("load-shop"))
    s.start()
    yield s
    s.stop()


async def _buy(page: Page, profile: Profile, values: BuyerValues) -> str:
    hints = profile.flow
    assert hints is not None
    checkout = page.frame_locator(hints.checkout_frames[0])
    await page.goto(profile.start_url)
    await page.locator(hints.product_ready).first.wait_for()
    await page.locator(hints.buy).first.click()
    await checkout.locator(hints.checkout_ready).wait_for()
    boxes = []
    for kind, spec in hints.fields.items():
        scope = page
        frames = hints.checkout_frames if spec.frames is None else spec.frames
        loc = None
        for sel in frames:
            loc = (loc or scope).frame_locator(sel)  # type: ignore[union-attr]
        box = (loc or page).locator(spec.selector)
        await box.fill(getattr(values, kind))
        boxes.append((box, getattr(values, kind)))
    # As paywitness.flow does: a frame still initialising under load can drop what was typed
    # first; read the form back and retype, as a buyer would before paying.
    for box, value in boxes:
        for _ in range(3):
            if await box.input_value() == value:
                break
            await box.fill(value)
        assert await box.input_value() == value, f"{box} does not keep the value typed into it"
    await checkout.locator(hints.pay).click()
    try:
        await checkout.locator(hints.confirmation).wait_for(timeout=60_000)
    except PlaywrightTimeoutError as e:  # say what the buyer was looking at instead
        shown = await checkout.locator("body").inner_text(timeout=5_000)
        raise AssertionError(f"no confirmation within 60 s; the checkout showed: {shown}") from e
    assert hints.order_number
    return (await checkout.locator(hints.order_number).inner_text()).strip()


async def _drive(proxy: ProxyRunner, profile: Profile) -> list[str]:
    executable = find_chromium(None, prefer_playwright=False, headless=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(executable) if executable else None,
            proxy={"server": proxy.url},
            args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={proxy.ca_spki}"],
        )
        try:

            async def one(i: int) -> str:
                context = await browser.new_context()
                page = await context.new_page()
                values = BuyerValues.of(make_buyer(1000 + i), make_card(1000 + i, "success"))
                order = await _buy(page, profile, values)
                statuses = await page.evaluate(_FETCH_JS, FETCHES_PER_PAGE)
                assert len(statuses) == FETCHES_PER_PAGE
                await context.close()
                return order

            return list(await asyncio.gather(*(one(i) for i in range(CONTEXTS))))
        finally:
            await browser.close()


def _run_in_thread(coro):  # type: ignore[no-untyped-def]
    """asyncio.run on its own thread: Playwright's sync API may own this thread's loop."""
    out: list[object] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return out[0]


def _key(host: str, method: str, path: str, status: int | None) -> tuple[str, str, str, int]:
    return (host, method, path, status or 0)


class _Tee(LedgerWriter):
    """Writes every record to a normal ledger and to one on a 'slow disk' (16-byte buffer)."""

    def __init__(self, path: Path, slow_path: Path) -> None:
        super().__init__(path)
        self.slow = LedgerWriter(slow_path, buffer_size=16)

    def write(self, record: FlowRecord) -> None:
        super().write(record)
        self.slow.write(record)

    def close(self) -> None:
        super().close()
        self.slow.close()


def test_ledger_matches_access_logs_under_load(
    shop: DemoShop, demo_profile: Profile, tmp_path: Path
) -> None:
    shop.reset()
    ledger_path = tmp_path / "ledger.jsonl"
    slow_path = tmp_path / "ledger-slow-disk.jsonl"
    ledger = _Tee(ledger_path, slow_path)
    classifier = Classifier(demo_profile)
    recorder = BackendRecorder(book=RecordBook(classifier=classifier, ledger=ledger))
    injector = FaultInjector(classifier=classifier, rules=parse_fault_rules(FAULTS))
    proxy = ProxyRunner(
        [injector, recorder, HostMap()],
        confdir=tmp_path / "ca",
        options={
            "paywitness_host_map": [f"{h}={u}" for h, u in sorted(shop.host_map.items())],
            "paywitness_block_unmapped": True,
            "ssl_verify_upstream_trusted_ca": str(shop.ca_cert_path),
        },
    )
    started = time.perf_counter()
    proxy.start()
    try:
        orders = _run_in_thread(_drive(proxy, demo_profile))
        driven = time.perf_counter()
    finally:
        proxy.stop()
        ledger.close()
    elapsed = time.perf_counter() - started

    served = [e for e in shop.access_log() if e.via == "browser"]
    records: list[FlowRecord] = [r for r in read_ledger(ledger_path) if r.kind == "http"]
    target = [r for r in records if r.role not in ("browser", "paywitness")]
    # Answered by the proxy itself (an injected status, or a request dropped before dialling):
    # the servers never saw them, so they are compared separately.
    by_proxy = [
        r
        for r in target
        if r.extra.get("fault", {}).get("phase") == "request"
        and r.extra["fault"]["action"] != "delay"
    ]
    reached = [r for r in target if r not in by_proxy]
    company_role = {"social": "social", "commerce": "commerce", "gateway": "gateway"}

    served_keys = Counter(_key(e.host, e.method, e.path, e.status) for e in served)
    recorded_keys = Counter(_key(r.host, r.method, r.path, r.status) for r in reached)
    lost = served_keys - recorded_keys
    extra = recorded_keys - served_keys
    ids = Counter(r.id for r in records)
    duplicated = [i for i, n in ids.items() if n > 1]
    roles_by_key: dict[tuple[str, str, str, int], set[str]] = {}
    for r in reached:
        roles_by_key.setdefault(_key(r.host, r.method, r.path, r.status), set()).add(r.role)
    misattributed = [
        e
        for e in served
        if company_role[e.company]
        not in roles_by_key.get(_key(e.host, e.method, e.path, e.status), set())
    ]
    injected = sum(1 for r in target if "fault" in r.extra)
    print(
        "\nload: "
        f"{CONTEXTS} contexts, {len(orders)} orders, served {len(served)}, "
        f"recorded {len(reached)} (+{len(by_proxy)} answered by the proxy, "
        f"{len(records) - len(target)} browser noise), faults injected {injected}, "
        f"lost {sum(lost.values())}, duplicated {len(duplicated)}, "
        f"misattributed {len(misattributed)}; {elapsed:.1f} s "
        f"(browsers {driven - started:.1f} s)"
    )
    assert len(served) + len(by_proxy) >= 1000
    assert len(set(orders)) == CONTEXTS
    assert not lost, f"served but not recorded: {lost.most_common(5)}"
    assert not extra, f"recorded but never served: {extra.most_common(5)}"
    assert not duplicated
    assert not misattributed
    assert len(reached) == len(served)
    assert injected > 0
    assert ledger.count == len(list(read_ledger(ledger_path)))
    # The slow disk dropped nothing: the same records, byte for byte.
    assert ledger.slow.count == ledger.count
    assert slow_path.read_bytes() == ledger_path.read_bytes()
