"""Browser mode: Playwright acts as the person, clicking the overlay's step marks and Finish."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from witness_helpers import WitnessThread

from paywitness.browser import find_chromium
from paywitness.buyers import Buyer, TestCard
from paywitness.evidence.manifest import verify_bundle
from paywitness.flow import BuyerValues, run_purchase
from paywitness.ledger import read_ledger
from paywitness.profile import Profile
from paywitness.witness_mode.overlay import OVERLAY_ID
from paywitness.witness_mode.session import WitnessOptions, WitnessSession


class OverlayPerson:
    """The person: marks each step on the overlay, then does what the standard purchase does."""

    def __init__(self, page: Page, start_url: str) -> None:
        self.page = page
        self.start_url = start_url
        self.clicked: list[str] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.page.locator(f"#{OVERLAY_ID} [data-paywitness-step={name}]").click()
        # As a person does: go on once the panel says the step is marked (the mark ends the
        # previous step, whose screen, storage and displays are read as it ends).
        label = self.page.locator(f"#{OVERLAY_ID} [data-paywitness=label]")
        expect(label).to_have_text(f"step: {name}")
        self.clicked.append(name)
        yield

    def link(self, kind: str, url: str) -> None:
        """A person just sees the link; opening it is what the proxy records."""

    def finish(self) -> None:
        """Finish asks once more on the panel: the first click alone ends nothing."""
        self.page.locator(f"#{OVERLAY_ID} [data-paywitness=finish]").click()
        self.page.locator(f"#{OVERLAY_ID} [data-paywitness=confirm-finish]").click()


@pytest.fixture(scope="module")
def chromium() -> str:
    """A Chromium binary (skip where none is installed)."""
    path = find_chromium(None, prefer_playwright=False)
    if path is None:
        pytest.skip("no Chromium on this machine")
    return str(path)


@pytest.mark.parametrize(
    ("violations", "code", "verdict"),
    [((), 0, "pass"), (("payment-on-social",), 1, "fail")],
    ids=["compliant", "payment-on-social"],
)
def test_browser_purchase_marked_on_the_overlay_is_judged_and_bundled(
    tmp_path: Path,
    chromium: str,
    demo_profile: Profile,
    witness_thread: Callable[..., WitnessThread],
    violations: tuple[str, ...],
    code: int,
    verdict: str,
) -> None:
    seen: dict[str, WitnessSession] = {}

    def person(page: Page) -> None:
        session = seen["session"]
        me = OverlayPerson(page, session.start_url)
        page.locator(f"#{OVERLAY_ID}").wait_for()
        buyer: Buyer = session.buyer
        card: TestCard = session.card
        run_purchase(page, me, demo_profile.flow, BuyerValues.of(buyer, card))
        # The standard purchase ends by opening the storefront's Shop and Orders tabs.
        assert me.clicked == ["browse", "checkout", "pay", "confirm", "shop", "orders"]
        expect(page.locator(f"#{OVERLAY_ID} [data-paywitness=label]")).to_have_text("step: orders")
        me.finish()

    options = WitnessOptions(
        demo=True,
        violations=violations,
        output=tmp_path / "bundle",
        seed=5,
        browser=chromium,
        headless=True,
        max_minutes=2,
    )

    w = witness_thread(options, person)
    assert w.session is not None
    seen["session"] = w.session
    assert w.join() == code, w.out.getvalue()
    out = tmp_path / "bundle"
    data = json.loads((out / "verdict.json").read_text())
    assert data["verdict"] == verdict
    assert data["meta"]["mode"] == "witness-browser"
    steps = ["browse", "checkout", "pay", "confirm", "shop", "orders"]
    assert data["meta"]["witness"]["steps"] == steps
    assert data["meta"]["witness"]["finished_by"] == "overlay"
    assert verify_bundle(out).intact
    shots = sorted(p.name for p in (out / "screenshots" / "witness").iterdir())
    assert shots == [
        "01-browse.png",
        "02-checkout.png",
        "03-pay.png",
        "04-confirm.png",
        "05-shop.png",
        "06-orders.png",
    ]
    assert (out / "traces" / "witness.zip").is_file()
    links = [r for r in read_ledger(out / "ledger.jsonl") if r.kind == "link"]
    assert [r.extra["link"] for r in links] == ["invoice"], [(r.url, r.step) for r in links]
    checks = data["categories"]["payment"]["checks"]
    (invoice,) = [c for c in checks if c["id"] == "payment.invoice-link"]
    assert invoice["status"] == "pass", invoice  # shown on screen and opened, on commerce
    run = json.loads((out / "run.json").read_text())
    assert run["browsers"][0]["name"] == "chromium"
    if verdict == "fail":
        # The pay call on social: its route, the pay call commerce never served, the charge id.
        assert {f["rule_id"] for f in data["findings"]} == {
            "payment.role-not-allowed",
            "payment.required-call-missing",
            "payment.artefact-reached-role",
        }
    stored = "".join(p.read_text(errors="ignore") for p in out.rglob("*.json*"))
    assert w.session.card.number not in stored
