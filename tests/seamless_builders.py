"""Synthetic probe records of whole purchases, for the seamless rules and baseline bundles."""

from __future__ import annotations

from collections.abc import Sequence

from builders import flow_record

from paywitness.ledger import FlowRecord

TEST = "scenarios/test_seamless.py::test_purchase[card]"
ORIGIN = "https://shop.social.test"


def purchase(
    test: str,
    *,
    t0: float,
    handoff_ms: float,
    popups: int = 0,
    navigations: int = 1,
    errors: int = 0,
    run: str = "target",
    unmarked: Sequence[str] = (),
) -> list[FlowRecord]:
    """The probe records one purchase leaves: step marks, moments (all but `unmarked`), the
    address bar, vitals."""
    n = 0

    def rec(kind: str, ts: float, step: str, **extra: object) -> FlowRecord:
        nonlocal n
        n += 1
        return flow_record(
            "shop.social.test", "/", kind=kind, id=f"{test}-{n}", ts=ts, step=step,
            role="social", test=test, status=None, run=run, **extra,
        )  # fmt: skip

    buy = t0 + 1.0
    ready = buy + handoff_ms / 1000
    out = [
        rec("mark", t0, "browse"),
        rec("client", t0 + 0.1, "browse", probe="address", origin=ORIGIN, page=0),
        rec("client", t0 + 0.2, "browse", probe="moment", name="browse"),
        rec(
            "client",
            t0 + 0.3,
            "browse",
            probe="vital",
            metric="lcp",
            value=400.0,
            page=0,
            scope="page",
        ),
        rec("mark", buy - 0.01, "checkout"),
        rec("client", buy, "checkout", probe="moment", name="buy"),
        rec("client", ready, "checkout", probe="moment", name="checkout-ready"),
        rec("mark", ready + 0.5, "pay"),
        rec("client", ready + 0.5, "pay", probe="moment", name="pay"),
        rec("client", ready + 0.9, "pay", probe="moment", name="confirmation"),
    ]
    out = [r for r in out if r.extra.get("probe") != "moment" or r.extra["name"] not in unmarked]
    out += [
        rec("client", t0 + 0.1, "browse", probe="document", origin=ORIGIN, page=0)
        for _ in range(navigations)
    ]
    out += [rec("client", buy + 0.1, "checkout", probe="popup") for _ in range(popups)]
    out += [
        rec("client", buy + 0.1, "checkout", probe="console-error", text="boom")
        for _ in range(errors)
    ]
    return out


def purchases(
    base: str, handoffs: Sequence[float], *, baseline: bool = False, **kw: object
) -> list[FlowRecord]:
    out: list[FlowRecord] = []
    for k, ms in enumerate(handoffs, 1):
        test = base + ("#baseline" if baseline else "") + (f"#r{k}" if k > 1 else "")
        out += purchase(test, t0=100.0 * k + (50 if baseline else 0), handoff_ms=ms,
                         run="baseline" if baseline else "target", **kw)  # type: ignore[arg-type]  # fmt: skip
    return out
