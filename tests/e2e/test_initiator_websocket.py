"""The initiator watch places a WebSocket opened in a frame that shares its parent's process.

`Network.webSocketCreated` names no frame. A frame of another site runs in a process of its own
and is placed by its target; a frame of the same site shares the page's process, and its
WebSocket is placed by the inline script that opened it (the script's URL is its document's).
Pages are served in the browser itself; the sockets need no server (the event comes first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Route

from paywitness.attribution import describe_initiator

PAGES = {
    "https://shop.example/": """<script>new WebSocket("wss://ws.example/top")</script>
        <iframe id=same src="https://shop.example/frame"></iframe>
        <script src="/lib.js"></script>""",
    "https://shop.example/frame": """<script>new WebSocket("wss://ws.example/framed")</script>""",
    "https://shop.example/lib.js": """new WebSocket("wss://ws.example/external")""",
}


def _serve(route: Route) -> None:
    url = route.request.url
    if url in PAGES:
        kind = "text/javascript" if url.endswith(".js") else "text/html"
        route.fulfill(body=PAGES[url], content_type=kind)
    else:
        route.fulfill(status=404, body="")


def test_a_websocket_of_a_same_process_frame_is_placed_by_its_inline_script(
    watched_context: Callable[..., Any],
) -> None:
    context, book, watch = watched_context(_serve)
    try:
        page = context.new_page()
        watch.watch(context)
        page.goto("https://shop.example/", wait_until="load")
        page.wait_for_timeout(300)  # the sockets' events reach the handler
    finally:
        context.close()
    said = {
        n["url"]: describe_initiator(n["extra"]["initiator"])
        for n in book.notes
        if n["kind"] == "initiator" and n["url"].startswith("wss://")
    }
    assert said["wss://ws.example/top"].endswith(" in the top frame"), said
    assert said["wss://ws.example/framed"].endswith(" in frame https://shop.example/frame"), said
    # An external script names no document: its frame stays unknown rather than guessed.
    assert said["wss://ws.example/external"].endswith(" in an unknown frame"), said
