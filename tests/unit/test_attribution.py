"""Initiator attribution: browser-reported senders joined to the proxy's records, in words."""

from __future__ import annotations

from typing import Any

from builders import flow_record
from playwright.sync_api import Error

from paywitness.analysers import judge
from paywitness.attribution import Attribution, describe_initiator
from paywitness.client_channels import _caller
from paywitness.initiators import InitiatorWatch, initiator_facts
from paywitness.ledger import FlowRecord
from paywitness.profile import Profile
from paywitness.records import RecordBook

T = "scenarios/test_x.py::test_buy"
PIXEL = {
    "type": "script",
    "frame": {
        "url": "https://shop.social.test/",
        "origin": "https://shop.social.test",
        "top": True,
    },
    "script": {
        "url": "https://shop.social.test/static/pixel.js",
        "line": 42,
        "column": 7,
        "function": "sendPurchase",
    },
}
CARD_FRAME = {
    "type": "script",
    "frame": {
        "url": "https://pay.gateway.test/fields?account=commerce",
        "origin": "https://pay.gateway.test",
        "top": False,
    },
    "script": {
        "url": "https://pay.gateway.test/fields?account=commerce",
        "line": 48,
        "column": 15,
        "function": "(anonymous)",
    },
}


def initiator(url: str, method: str, ts: float, facts: dict[str, Any], test: str = T) -> FlowRecord:
    return flow_record(
        kind="initiator", url=url, method=method, ts=ts, test=test, initiator=facts, role="social"
    )


def proxied(host: str, path: str, method: str, ts: float, **kw: Any) -> FlowRecord:
    return flow_record(host, path, method, ts=ts, test=T, **kw)


def test_each_proxied_request_gets_the_initiator_of_its_own_send() -> None:
    other = {**PIXEL, "script": {**PIXEL["script"], "line": 50, "function": "again"}}
    records = [
        # A cache hit long before: the browser sent nothing, the proxy saw nothing.
        initiator("https://events.social.test/px?ev=1", "GET", 10.0, CARD_FRAME),
        initiator("https://events.social.test/px?ev=1", "GET", 100.0, PIXEL),
        proxied("events.social.test", "/px?ev=1", "GET", 100.02, id="p1"),
        initiator("https://events.social.test/px?ev=1", "GET", 101.0, other),
        proxied("events.social.test", "/px?ev=1", "GET", 101.01, id="p2"),
        proxied("events.social.test", "/px?ev=1", "POST", 101.02, id="p3"),  # other method
    ]
    a = Attribution.of(records)
    assert a.by_record["p1"] == PIXEL
    assert a.by_record["p2"] == other
    assert "p3" not in a.by_record
    assert a.describe(records[2]) == (
        "sent by `https://shop.social.test/static/pixel.js:42:7 sendPurchase` in the top frame"
    )
    assert a.describe(records[5]) == "sender unknown (the browser reported no matching request)"


def test_websocket_messages_are_sent_by_whoever_opened_the_socket() -> None:
    hs = proxied("chat.social.test", "/ws?m=1", "GET", 5.01, id="hs", websocket=True)
    msg = flow_record(
        "chat.social.test", "/ws?m=1", "WS", kind="websocket", ts=9.0, test=T, id="m1"
    )
    opened = initiator("wss://chat.social.test/ws?m=1", "GET", 5.0, CARD_FRAME)
    a = Attribution.of([opened, hs, msg])
    assert a.by_record["m1"] == CARD_FRAME
    assert a.describe(msg).startswith(
        "sent by `https://pay.gateway.test/fields?account=commerce:48:15 (anonymous)` "
        "in frame https://pay.gateway.test/fields?account=commerce"
    )


def test_without_devtools_the_sender_is_unknown_and_says_why() -> None:
    r = proxied("events.social.test", "/e", "POST", 3.0)
    assert "no browser-side initiator records" in Attribution.of([r]).describe(r)
    no_cdp = flow_record(
        kind="initiator",
        method="NO-CDP",
        test=T,
        error="CDP session is only available in Chromium",
        probe="no-cdp",
    )
    assert Attribution.of([no_cdp, r]).describe(r) == (
        "sender unknown (no DevTools protocol: CDP session is only available in Chromium)"
    )


def test_causes_other_than_a_script_are_named() -> None:
    frame = {"url": "https://checkout.commerce.test/c", "top": False}
    parser = {"type": "parser", "frame": frame, "script": {"url": "https://x.test/", "line": 3}}
    assert describe_initiator(parser) == (
        "loaded by the HTML parser of `https://x.test/:3` in frame https://checkout.commerce.test/c"
    )
    redirect = {"type": "redirect", "cause_url": "https://a.test/r", "frame": {"top": True}}
    assert describe_initiator(redirect) == "a redirect from https://a.test/r in the top frame"
    pre = {"type": "preflight", "cause_url": "https://a.test/api", "frame": {"top": True}}
    assert describe_initiator(pre) == "the CORS preflight of https://a.test/api in the top frame"
    assert describe_initiator({"type": "other", "frame": {"top": True}}) == (
        "started by the browser (other) in the top frame"
    )


def test_a_leak_finding_names_its_sender(demo_profile: Profile) -> None:
    plant = flow_record(
        kind="plant", method="PLANT", role="paywitness", test=T,
        planted=[{"kind": "email", "hash": "h1"}],
    )  # fmt: skip
    hit = {"kind": "email", "encoding": "sha256(email)", "location": "url"}
    leak = proxied(
        "events.social.test", "/px?uid=[canary]", "GET", 50.02, role="social", canary_hits=[hit]
    )
    records = [plant, initiator(leak.url, "GET", 50.0, PIXEL), leak]
    (finding,) = [f for f in judge(records, demo_profile).findings if f.category == "data"]
    assert finding.message.endswith(
        "; sent by `https://shop.social.test/static/pixel.js:42:7 sendPurchase` in the top frame"
    )
    assert finding.evidence[0]["initiator"] == PIXEL


def test_initiator_facts_are_masked_and_counted_from_one() -> None:
    book = RecordBook()
    event = {
        "documentURL": "https://shop.social.test/?session=abc123",
        "type": "Fetch",
        "initiator": {
            "type": "script",
            "stack": {
                "callFrames": [],  # after an await: the sender is in the async parent
                "parent": {
                    "callFrames": [
                        {
                            "functionName": "pay",
                            "url": "https://shop.social.test/app.js?token=s3cr3t",
                            "lineNumber": 9,
                            "columnNumber": 4,
                        }
                    ]
                },
            },
        },
    }
    facts = initiator_facts(event, top_frame=True, mask=book.mask_url)
    assert facts["script"] == {
        "url": "https://shop.social.test/app.js?token=[masked]",
        "line": 10,
        "column": 5,
        "function": "pay",
    }
    assert facts["frame"]["top"] is True
    assert "abc123" not in str(facts)
    assert "s3cr3t" not in str(facts)


class _NoCdpContext:
    def __init__(self) -> None:
        self.pages = [_Page(self)]

    def on(self, event: str, handler: object) -> None:
        pass

    def new_cdp_session(self, page: object) -> None:
        raise Error("CDP session is only available in Chromium")


class _Page:
    def __init__(self, context: _NoCdpContext) -> None:
        self.context = context

    def is_closed(self) -> bool:
        return False

    def opener(self) -> None:
        return None  # the buyer's own page, not one the shop opened


def test_a_browser_without_devtools_leaves_one_record_and_no_error() -> None:
    written: list[FlowRecord] = []
    book = RecordBook()
    book.write = written.append  # type: ignore[method-assign]
    watch = InitiatorWatch(book)
    context = _NoCdpContext()
    watch.watch(context)  # type: ignore[arg-type]
    watch.attach(context.pages[0])  # type: ignore[arg-type]
    (record,) = written
    assert (record.kind, record.extra["probe"]) == ("initiator", "no-cdp")
    assert record.error == "CDP session is only available in Chromium"


def test_a_storage_writer_is_read_from_its_stack() -> None:
    stack = (
        "Error\n    at Storage.setItem (<anonymous>:30:52)\n"
        "    at https://shop.social.test/:343:51\n    at async buy (https://shop.social.test/:300:3)"
    )
    assert _caller(stack) == ("(anonymous)", "https://shop.social.test/", 343, 51)


def test_channel_observations_name_the_frame_that_posted_or_wrote() -> None:
    posted = flow_record(
        kind="client", method="postMessage", url="https://shop.social.test/", test=T,
        channel="postMessage", from_origin="https://checkout.commerce.test", top=True,
        source="child",
    )  # fmt: skip
    assert Attribution.of([posted]).describe(posted) == (
        "posted by a frame on https://checkout.commerce.test (a frame inside it) to the top frame"
    )
    writer = {
        "frame": {"url": "https://shop.social.test/", "top": True},
        "url": "https://shop.social.test/",
        "line": 343,
        "column": 51,
        "function": "(anonymous)",
    }
    stored = flow_record(
        kind="client", method="localStorage", url="https://shop.social.test/", test=T,
        channel="localStorage", writers={"localStorage:ramai.contact": writer},
    )  # fmt: skip
    assert Attribution.of([stored]).describe(stored) == (
        "localStorage of https://shop.social.test: localStorage:ramai.contact written by "
        "`https://shop.social.test/:343:51 (anonymous)` in the top frame"
    )
