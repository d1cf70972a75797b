"""The fault injector addon and its rule syntax, unit-tested without a live proxy."""

from __future__ import annotations

import asyncio
import threading

import pytest
from builders import http_flow
from mitmproxy import exceptions
from mitmproxy.test import taddons

from paywitness.classify import Classifier
from paywitness.faults import parse_fault_rule, parse_fault_rules
from paywitness.ledger import read_ledger
from paywitness.profile import Profile, demo_profile_path
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.fault_injector import FAULT_METADATA, FaultInjector


def _run(coro):
    """asyncio.run on its own thread: Playwright's sync API may own this thread's loop."""
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    t.start()
    t.join()
    return out[0] if out else None


# -- the rule syntax ------------------------------------------------------------------------------
def test_rule_parses_every_key() -> None:
    r = parse_fault_rule("role=gateway method=post path=/v1/charges status=502 first=2")
    assert (r.action, r.status, r.role, r.method, r.path, r.first, r.phase) == (
        "status",
        502,
        "gateway",
        "POST",
        "/v1/charges",
        2,
        "request",
    )
    t = parse_fault_rule("host=*.gateway.test timeout=1500 phase=response")
    assert (t.action, t.ms, t.host, t.phase) == ("timeout", 1500, "*.gateway.test", "response")
    assert parse_fault_rule("reset").action == "reset"


def test_several_rules_in_one_entry() -> None:
    rules = parse_fault_rules(["role=gateway status=503; host=api.commerce.test reset", " "])
    assert [r.action for r in rules] == ["status", "reset"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("role=gateway", "exactly one action"),
        ("status=502 reset", "exactly one action"),
        ("status=200", "out of range (use 400..599)"),
        ("delay=soon", "'soon' is not a whole number"),
        ("role=bank status=502", "'bank' is not a role"),
        ("colour=red status=502", "unknown key 'colour'"),
        ("path=v1/charges status=502", "must start with '/'"),
        ("host=pay_gateway!test status=502", "not a host pattern"),
        ("status=502 phase=later", "'later' is not 'request' or 'response'"),
        ("reset=1", "'reset' takes no value"),
        ("status=502 status=503", "given twice"),
        ("first status=502", "needs a value"),
    ],
)
def test_bad_rules_name_the_value_and_the_fix(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="fault rule") as e:
        parse_fault_rule(text)
    assert fragment in str(e.value)
    assert "e.g. 'role=gateway" in str(e.value)


# -- the addon ------------------------------------------------------------------------------------
def test_option_configures_rules_and_bad_values_are_options_errors() -> None:
    fi = FaultInjector()
    with taddons.context(fi) as tctx:
        tctx.configure(fi, paywitness_faults=["host=pay.gateway.test status=502"])
        assert [r.status for r in fi.rules] == [502]
        with pytest.raises(exceptions.OptionsError, match="paywitness_faults: fault rule"):
            tctx.configure(fi, paywitness_faults=["host=pay.gateway.test status=oops"])
        with pytest.raises(exceptions.OptionsError, match="set paywitness_profile=PATH"):
            tctx.configure(fi, paywitness_faults=["role=gateway status=502"])
        tctx.configure(
            fi,
            paywitness_profile=str(demo_profile_path()),
            paywitness_faults=["role=gateway status=502"],
        )
        assert fi.rules[0].role == "gateway"


def test_status_fault_answers_first_n_then_passes(demo_profile: Profile) -> None:
    fi = FaultInjector(
        classifier=Classifier(demo_profile),
        rules=parse_fault_rules(["role=gateway method=POST path=/v1/charges status=502 first=1"]),
    )
    with taddons.context(fi):
        first = http_flow("pay.gateway.test", "/v1/charges", resp=False)
        _run(fi.request(first))
        assert first.response is not None
        assert first.response.status_code == 502
        assert first.metadata[FAULT_METADATA]["action"] == "status"
        second = http_flow("pay.gateway.test", "/v1/charges", resp=False)
        _run(fi.request(second))
        assert second.response is None  # budget spent: the retry reaches the gateway
        other = http_flow("api.commerce.test", "/v1/charges", resp=False)
        _run(fi.request(other))
        assert other.response is None  # another role
        assert fi.injected == 1


def test_reset_kills_and_response_phase_keeps_upstream_status(demo_profile: Profile) -> None:
    fi = FaultInjector(classifier=Classifier(demo_profile))
    fi.set_test_rules(parse_fault_rules(["role=commerce path=/api/orders/*/pay reset"]))
    with taddons.context(fi):
        f = http_flow("api.commerce.test", "/api/orders/A1/pay", resp=False)
        _run(fi.request(f))
        assert f.error is not None
        assert f.error.msg == "Connection killed."
    fi.clear_test_rules()
    assert fi.rules == ()
    fi.set_rules(parse_fault_rules(["host=pay.gateway.test timeout=0 phase=response"]))
    with taddons.context(fi):
        g = http_flow("pay.gateway.test", "/v1/charges")
        _run(fi.request(g))
        assert g.error is None  # a response-phase rule leaves the request alone
        _run(fi.response(g))
        assert g.error is not None
        assert g.metadata[FAULT_METADATA]["upstream_status"] == 200


def test_delay_holds_only_that_flow() -> None:
    fi = FaultInjector(rules=parse_fault_rules(["host=slow.test delay=300"]))

    async def both() -> list[str]:
        order: list[str] = []

        async def one(host: str) -> None:
            await fi.request(http_flow(host, "/", resp=False))
            order.append(host)

        await asyncio.gather(one("slow.test"), one("fast.test"))
        return order

    with taddons.context(fi):
        assert _run(both()) == ["fast.test", "slow.test"]


def test_fault_reaches_the_ledger_record(tmp_path, demo_profile: Profile) -> None:
    fi = FaultInjector(classifier=Classifier(demo_profile))
    rec = BackendRecorder()
    ledger = tmp_path / "ledger.jsonl"
    fi.set_test_rules(parse_fault_rules(["role=gateway path=/v1/charges status=503"]))
    with taddons.context(fi, rec) as tctx:
        tctx.configure(
            rec, paywitness_profile=str(demo_profile_path()), paywitness_ledger=str(ledger)
        )
        f = http_flow("pay.gateway.test", "/v1/charges", resp=False)
        f.request.headers["Idempotency-Key"] = "order-1-key"
        rec.requestheaders(f)
        _run(fi.request(f))
        rec.response(f)
        rec.done()
    (record,) = [r for r in read_ledger(ledger) if r.kind == "http"]
    assert record.status == 503
    assert record.extra["fault"]["rule"] == "role=gateway path=/v1/charges status=503"
    assert record.extra["idempotency_key"].startswith("sha256:")
    assert "order-1-key" not in ledger.read_text()
