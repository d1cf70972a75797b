"""`paywitness record` builds the steps in the order the pages saw the actions, not the order
their events reached the recorder (a cross-site frame's renderer can deliver late)."""

from __future__ import annotations

from paywitness.record import Recording

CHECKOUT = ['[data-testid="checkout-frame"]']
CARD = [*CHECKOUT, '[data-testid="card-frame"]']


def _rec() -> Recording:
    return Recording("https://shop.example/", {"card.number": "4111111111111111"})


def test_a_card_field_typed_before_pay_but_delivered_after_it_is_put_before_it() -> None:
    rec = _rec()
    rec.add({"kind": "fill", "selector": "#f-name", "value": "Ana", "at": 1000.0}, CHECKOUT)
    rec.add({"kind": "click", "selector": "#pay", "at": 1300.0}, CHECKOUT)
    late = rec.add(
        {"kind": "fill", "selector": "#number", "value": "4111111111111111", "at": 1200.0}, CARD
    )
    assert late is None  # reordered, not appended
    assert rec.steps == [
        {"frame": CHECKOUT},
        {"fill": "#f-name", "value": "Ana"},
        {"frame": CARD},
        {"fill": "#number", "value": "{card.number}"},
        {"frame": CHECKOUT},
        {"click": "#pay"},
    ]


def test_events_in_order_are_appended_and_retyping_keeps_the_last_value() -> None:
    rec = _rec()
    first = rec.add({"kind": "fill", "selector": "#q", "value": "a", "at": 1.0}, [])
    again = rec.add({"kind": "fill", "selector": "#q", "value": "ab", "at": 2.0}, [])
    assert first is again
    assert again == {"fill": "#q", "value": "ab"}
    assert rec.add({"kind": "click", "selector": "#go", "at": 3.0}, []) == {"click": "#go"}
    assert rec.steps == [{"fill": "#q", "value": "ab"}, {"click": "#go"}]
