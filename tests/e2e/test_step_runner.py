"""Flow steps in a real Chromium: pages served in the browser itself (no network, no proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from paywitness.flow import BuyerValues, FlowStepError, StepRunner
from paywitness.flow_spec import FlowStep

START = "https://shop.example/"
PAGES = {
    "/": """<h1 id=product>Kopi</h1><a id=buy href="/address">Buy</a>""",
    "/address": """<form action="/payment"><input id=given><input id=family>
        <select id=region><option>Aceh</option><option>Jawa Barat</option></select>
        <input id=post><label><input type=checkbox id=terms>ok</label>
        <button id=next>Next</button></form>""",
    "/payment": """<iframe id=card src="/card"></iframe>
        <button id=win onclick="window.open('/3ds')">Verify</button>
        <p id=verified hidden>verified</p>
        <button id=pay onclick="fetch('/api/pay',{method:'POST'}).then(
          ()=>{document.getElementById('done').hidden=false})">Pay</button>
        <p id=done hidden>Thank you, order TK-1</p>""",
    "/card": """<input id=number>""",
    # The first click never reaches the button (as when Chromium hands a click meant for a
    # cross-site frame to the page around it); every click that does is counted.
    "/lossy": """<button id=pay onclick="document.getElementById('n').textContent =
          Number(document.getElementById('n').textContent) + 1">Pay</button><p id=n>0</p>
        <script>document.addEventListener("click", (e) => {
          if (!window.lost) { window.lost = true; e.stopPropagation(); }
        }, true);</script>""",
    "/sound": """<button id=pay onclick="document.getElementById('n').textContent =
          Number(document.getElementById('n').textContent) + 1">Pay</button><p id=n>0</p>""",
    # Playwright's hit check finds the overlay on top of the button; a press at the button's
    # spot reaches the overlay, which passes it on (as when Playwright's coordinates and the
    # browser's hit test disagree and the button does get a real press there).
    "/forwarding": """<button id=pay onclick="document.getElementById('n').textContent =
          Number(document.getElementById('n').textContent) + 1">Pay</button><p id=n>0</p>
        <div id=veil style="position:fixed;inset:0" onclick="document.getElementById('pay')
          .click()"></div>""",
    # A real overlay: whatever is pressed, the button never gets it.
    "/covered": """<button id=pay onclick="document.getElementById('n').textContent =
          Number(document.getElementById('n').textContent) + 1">Pay</button><p id=n>0</p>
        <div id=veil style="position:fixed;inset:0"></div>""",
    "/3ds": """<button id=approve onclick="opener.document.getElementById('verified')
        .hidden=false; setTimeout(()=>window.close(), 50)">Approve</button>""",
}


class FakeWitness:
    """Records step names and moments as the real witness would receive them."""

    start_url = START

    def __init__(self) -> None:
        self.events: list[str] = []
        self.links: list[tuple[str, str]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.events.append(f"step:{name}")
        yield
        self.events.append(f"end:{name}")

    def moment(self, name: str, page: Any = None) -> None:
        self.events.append(f"moment:{name}")

    def link(self, kind: str, url: str) -> None:
        self.links.append((kind, url))


def _serve(route: Route) -> None:
    path = "/" + route.request.url.split("/", 3)[3].split("?")[0]
    if path == "/api/pay":
        route.fulfill(json={"ok": True})
    elif path in PAGES:
        route.fulfill(body=PAGES[path], content_type="text/html")
    else:
        route.fulfill(status=404, body="")


@pytest.fixture
def shop_page(plain_chromium: Browser) -> Iterator[Page]:
    context = plain_chromium.new_context()
    context.set_default_timeout(10_000)
    context.route("https://shop.example/**", _serve)
    yield context.new_page()
    context.close()


VALUES = BuyerValues(
    name="Sari Widodo",
    email="sari@example.com",
    phone="+62 812",
    address="Jl. Melati 7",
    card_number="4242424242424242",
    placeholders={"buyer.given_name": "Sari", "buyer.family_name": "Widodo",
                  "buyer.region": "Jawa Barat", "buyer.postcode": "40115"},
)  # fmt: skip


def steps(*raw: dict[str, Any]) -> list[FlowStep]:
    return [FlowStep.model_validate(s) for s in raw]


def test_a_multi_page_checkout_runs_from_steps(shop_page: Page) -> None:
    w = FakeWitness()
    flow = steps(
        {"goto": "/", "step": "browse"},
        {"wait_for": "#product", "moment": "browse"},
        {"tap": "#buy", "step": "checkout", "moment": "buy"},  # no touch here: a click
        {"wait_for": {"url": "**/address"}, "moment": "checkout-ready"},
        {"fill": "#given", "value": "{buyer.given_name}"},
        {"fill": "#family", "value": "{buyer.family_name}"},
        {"select": "#region", "value": "{buyer.region}"},
        {"fill": "#post", "value": "{buyer.postcode}"},
        {"check": "#terms"},
        {"press": "#post", "key": "Enter"},
        {"frame": ["#card"]},
        {"fill": "#number", "value": "{card.number}"},
        {"frame": []},
        {"popup": "#win", "then": [{"click": "#approve"}], "wait_close": True},
        {"expect": "#verified"},
        {"click": "#pay", "step": "pay", "moment": "pay"},
        {"wait_for": {"response": "**/api/pay", "status": 200}},
        {"expect": "#done", "text": "Thank you", "moment": "confirmation"},
    )
    with StepRunner(shop_page, w, VALUES) as runner:
        runner.run(flow)
    assert "/payment" in shop_page.url
    assert w.events == [
        "step:browse", "moment:browse", "end:browse",
        "step:checkout", "moment:buy", "moment:checkout-ready", "end:checkout",
        "step:pay", "moment:pay", "moment:confirmation", "end:pay",
    ]  # fmt: skip


def test_a_frame_chain_matching_nothing_names_the_step(shop_page: Page) -> None:
    flow = steps(
        {"goto": "/payment"},
        {"frame": ["#card", "#inner"]},
        {"fill": "#number", "value": "{card.number}", "timeout_s": 1},
    )
    with pytest.raises(FlowStepError) as e, StepRunner(shop_page, FakeWitness(), VALUES) as runner:
        runner.run(flow)
    text = str(e.value)
    assert text.startswith("flow.steps[2] (fill '#number'): the frame chain")
    assert "set by flow.steps[1] matches nothing: no iframe '#inner'" in text


def test_a_failed_step_names_its_index_and_action(shop_page: Page) -> None:
    flow = steps({"goto": "/"}, {"click": "#missing", "timeout_s": 1})
    with pytest.raises(FlowStepError, match=r"^flow\.steps\[1\] \(click '#missing'\) failed"):
        with StepRunner(shop_page, FakeWitness(), VALUES) as runner:
            runner.run(flow)


def test_a_placeholder_without_a_value_in_this_run(shop_page: Page) -> None:
    no_card = BuyerValues(name="a", email="b", phone="c", address="d")
    flow = steps({"goto": "/payment"}, {"frame": ["#card"]},
                 {"fill": "#number", "value": "{card.number}"})  # fmt: skip
    with pytest.raises(FlowStepError, match=r"flow\.steps\[2\]: the placeholder \{card\.number\}"):
        with StepRunner(shop_page, FakeWitness(), no_card) as runner:
            runner.run(flow)


@pytest.mark.parametrize(("page", "retried"), [("/lossy", True), ("/sound", False)])
def test_a_click_that_never_reached_its_element_is_made_again_once(
    shop_page: Page, page: str, retried: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with StepRunner(shop_page, FakeWitness(), VALUES) as runner:
        runner.run(steps({"goto": page}, {"click": "#pay", "step": "pay", "moment": "pay"}))
    assert shop_page.text_content("#n") == "1"  # paid once either way: never a double click
    assert ("never reached its element" in caplog.text) is retried


def test_a_press_only_playwrights_hit_check_refuses_is_made_at_the_spot_once(
    shop_page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    with StepRunner(shop_page, FakeWitness(), VALUES) as runner:
        runner.run(steps({"goto": "/forwarding"}, {"click": "#pay", "timeout_s": 3}))
    assert shop_page.text_content("#n") == "1"
    assert "kept intercepting the press" in caplog.text
    assert "never reached its element" not in caplog.text


def test_a_click_not_armed_before_the_step_is_armed_when_the_hit_check_fails(
    shop_page: Page, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen in CI on an emulated phone: the Pay button's handle could not be taken before the
    # step, and the press then waited out its whole timeout on the hit check.
    monkeypatch.setattr(StepRunner, "_arm_click", lambda self, step: None)
    with StepRunner(shop_page, FakeWitness(), VALUES) as runner:
        runner.run(steps({"goto": "/forwarding"}, {"click": "#pay", "timeout_s": 3}))
    assert shop_page.text_content("#n") == "1"
    assert "kept intercepting the press" in caplog.text


@pytest.mark.parametrize(("page", "clicked"), [("/sound", True), ("/covered", False)])
def test_presses_that_reach_another_element_end_in_a_page_click_only_without_an_overlay(
    shop_page: Page, page: str, clicked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As seen on an emulated phone in CI: Playwright's computed spot is not the button's, so
    # its checked press keeps finding another element there and a forced one presses that.
    def press(self: StepRunner, target: Any, timeout: Any, *, tap: bool, force: bool = False):
        if not force:
            raise PlaywrightTimeoutError("Timeout: <form> intercepts pointer events")

    monkeypatch.setattr(StepRunner, "_press", press)
    with StepRunner(shop_page, FakeWitness(), VALUES) as runner:
        if clicked:
            runner.run(steps({"goto": page}, {"click": "#pay", "timeout_s": 3}))
        else:
            with pytest.raises(FlowStepError, match="intercepts pointer events"):
                runner.run(steps({"goto": page}, {"click": "#pay", "timeout_s": 3}))
    assert shop_page.text_content("#n") == ("1" if clicked else "0")


def test_a_real_overlay_still_fails_the_step_naming_what_is_on_top(shop_page: Page) -> None:
    with (
        pytest.raises(FlowStepError, match=r"intercepts pointer events") as e,
        StepRunner(shop_page, FakeWitness(), VALUES) as runner,
    ):
        runner.run(steps({"goto": "/covered"}, {"click": "#pay", "timeout_s": 3}))
    assert "flow.steps[1] (click '#pay') failed: Locator.click: Timeout" in str(e.value)
    assert shop_page.text_content("#n") == "0"
