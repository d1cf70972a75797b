"""A frame whose navigation hangs holds none of what the harness does at a step's end.

A step's end reads every frame's storage, pictures the screen and (witness mode) looks for the
invoice links shown in every frame.

In the crash-safety run whose proxy stops mid-checkout, the card frame's request was never
answered; the storage snapshot at the step's end waited on that frame's document until Chromium
gave up on the request, 30 s later (1 run in ~4 under load). A server that never answers does the
same to a user's run. Pages are served in the browser itself (no network, no proxy); the card
frame's route is never fulfilled, so its navigation hangs until the shop removes the frame, 20 s
after loading. A snapshot that waits on the frame returns only once it is gone.

The step's screenshot had the same trouble: its masks cover typed-into controls in every frame,
and a mask in the hung frame made Playwright wait for that frame's document until the picture
timed out (5 s, no picture of the very step that went wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from builders import NoteBook
from playwright.sync_api import BrowserContext, Frame, Page, Route

from paywitness.client_channels import ClientChannels
from paywitness.evidence.capture import StepCapture
from paywitness.frame_reads import has_document

SHOP_WITH_BLANKS = """<script>localStorage.setItem("cart", "BTK-001")</script>
<iframe></iframe><iframe srcdoc="<p>terms</p>"></iframe>"""

SHOP = """<script>localStorage.setItem("cart", "BTK-001")</script>
<iframe id=card src="https://pay.example/fields"></iframe>
<script>setTimeout(() => document.getElementById("card").remove(), 20000)</script>"""


def _open_shop(watched_context: Callable[..., Any]) -> tuple[BrowserContext, NoteBook, Page]:
    """The shop open in a new page, its card frame's navigation hanging."""
    hung: list[Route] = []

    def serve(route: Route) -> None:
        if route.request.url == "https://shop.example/":
            route.fulfill(body=SHOP, content_type="text/html")
        else:
            hung.append(route)  # never answered, as by a proxy that has gone

    context, book, _ = watched_context(serve)
    page = context.new_page()
    page.goto("https://shop.example/", wait_until="domcontentloaded")
    for _ in range(200):
        if hung:
            break
        page.wait_for_timeout(50)
    assert hung, "the card frame never asked for its page"
    return context, book, page


def test_a_frame_that_never_loads_does_not_hold_the_snapshot(
    watched_context: Callable[..., Any],
) -> None:
    context, book, page = _open_shop(watched_context)
    channels = ClientChannels(book, lambda text, where: [])
    try:
        channels.attach(context)
        card = page.frames[1]
        channels.snapshot()
        # Skipped after the snapshot's own short wait, while its navigation still hangs.
        assert not card.is_detached(), "the snapshot waited until the hung frame was removed"
        stores = [n for n in book.notes if n["kind"] == "client"]
        assert [n["method"] for n in stores] == ["localStorage"], book.notes
        assert stores[0]["url"] == "https://shop.example/"
    finally:
        context.close()


def test_a_frame_that_never_loads_has_no_document_to_read(
    watched_context: Callable[..., Any],
) -> None:
    """The check witness mode makes before it looks for invoice links in each frame
    (`Locator.evaluate_all` takes no timeout and waited as long as the navigation hung)."""
    context, _, page = _open_shop(watched_context)
    try:
        top, card = page.frames
        assert has_document(top)
        # Not waited on, however long the wait allowed: a wait would last until the shop
        # removes the frame (20 s), and the frame would be gone by the answer.
        assert not has_document(card, timeout_ms=60_000)
        assert not card.is_detached()  # answered while the navigation still hangs
    finally:
        context.close()


def test_frames_without_an_address_of_their_own_are_read_through_their_maker(
    watched_context: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An about:blank or srcdoc frame shares the storage of the page that made it: that page's
    read records it, and the frame itself is not read again (a round trip each)."""

    def serve(route: Route) -> None:
        route.fulfill(body=SHOP_WITH_BLANKS, content_type="text/html")

    context, book, _ = watched_context(serve)
    read: list[str] = []
    snapshot_frame = ClientChannels._snapshot_frame

    def counting(self: ClientChannels, frame: Frame) -> None:
        read.append(frame.url)
        snapshot_frame(self, frame)

    monkeypatch.setattr(ClientChannels, "_snapshot_frame", counting)
    channels = ClientChannels(book, lambda text, where: [])
    try:
        channels.attach(context)
        page = context.new_page()
        page.goto("https://shop.example/")
        assert sorted(f.url for f in page.frames) == [
            "about:blank",
            "about:srcdoc",
            "https://shop.example/",
        ]
        channels.snapshot()
        assert read == ["https://shop.example/"]
        stores = [n for n in book.notes if n["kind"] == "client"]
        assert [(n["method"], n["url"]) for n in stores] == [
            ("localStorage", "https://shop.example/")
        ]
        # What the blank frame writes is its maker's storage, recorded at the next read.
        page.frames[1].evaluate("localStorage.setItem('seen', 'yes')")
        channels.snapshot()
        latest = [n for n in book.notes if n["kind"] == "client"][-1]
        assert latest["extra"]["entries"] == 2
    finally:
        context.close()


def test_a_frame_that_never_loads_does_not_cost_the_step_its_picture(
    watched_context: Callable[..., Any], tmp_path: Path
) -> None:
    context, _, page = _open_shop(watched_context)
    capture = StepCapture(tmp_path, "shop::hung", trace=False)
    capture.add_context(context)
    try:
        picture = capture.screenshot("checkout", 1)
        assert picture is not None, "no picture: the masks waited on the hung frame"
        assert picture.stat().st_size > 0
        assert not page.frames[1].is_detached()
    finally:
        context.close()


def test_witness_mode_looks_for_links_without_waiting_on_a_frame_with_no_address(
    watched_context: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoice links shown are looked for in each frame that has a document; a frame still
    on its first navigation has none, and `has_document` says so without a wait (above)."""
    from paywitness.witness_mode import browser as witness_browser

    context, _, page = _open_shop(watched_context)
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        "'<a data-testid=invoice-link href=\"https://shop.example/invoice/1\">Faktur</a>')"
    )
    asked: list[tuple[str, bool]] = []
    has_document = witness_browser.has_document

    def watched(frame: Frame, timeout_ms: float = 2_000) -> bool:
        answer = has_document(frame, timeout_ms)
        asked.append((frame.url, answer))
        return answer

    monkeypatch.setattr(witness_browser, "has_document", watched)
    links: list[tuple[str, str]] = []
    witness = witness_browser._BrowserWitness.__new__(witness_browser._BrowserWitness)
    witness.session = SimpleNamespace(  # type: ignore[assignment]
        profile=SimpleNamespace(flow=SimpleNamespace(invoice_link="[data-testid=invoice-link]")),
        recording=SimpleNamespace(book=SimpleNamespace(link=lambda k, u: links.append((k, u)))),
    )
    witness._links = set()
    try:
        witness._note_links(page)
        assert links == [("invoice", "https://shop.example/invoice/1")]
        assert asked == [("https://shop.example/", True), ("", False)]
        assert page.frames[1].url == ""  # the card frame: still on its first navigation
        assert not page.frames[1].is_detached()
    finally:
        context.close()
