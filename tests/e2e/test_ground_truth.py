"""Ground truth: every request a demo server answered is in the ledger, attributed to its owner,
and nothing in the ledger is unaccounted for. Also: the card number reaches only the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# The checks run inside a paywitness run of the demo (where the shop's own access log is at
# hand), as a user's scenario file: run in this test process, pytest-playwright's session-wide
# Playwright would stay open in the xdist worker and break every later test that starts its own.
SCENARIO = """from __future__ import annotations

from collections import Counter

import pytest
from playwright.sync_api import Page

from paywitness.buyers import Buyer, TestCard
from paywitness.flow import BuyerValues, run_purchase
from paywitness.redact import redact_url
from paywitness.session import Target
from paywitness.witness import Witness

pytestmark = pytest.mark.paywitness_category("payment")


@pytest.mark.parametrize("method", ["card", "card-3ds", "virtual-account"])
def test_ledger_matches_every_server_access_log(
    page: Page,
    witness: Witness,
    paywitness_target: Target,
    buyer: Buyer,
    card: TestCard,
    method: str,
) -> None:
    shop = paywitness_target.demo
    assert shop is not None, "this test needs the built-in demo shop"
    profile = witness.profile
    assert profile.flow is not None
    shop.reset()
    how = profile.flow.methods[method]
    from paywitness.buyers import make_card

    instrument = make_card(witness.seed, how.instrument) if how.instrument else None
    run_purchase(page, witness, profile.flow, BuyerValues.of(buyer, instrument), method=method)
    page.close()  # no request may still be in flight when the two sides are compared

    served = Counter(
        (e.company, e.host, e.method, redact_url(e.path), e.status)
        for e in shop.access_log()
        if e.via == "browser"
    )
    recorded = Counter(
        (r.role, r.host, r.method, r.path, r.status)
        for r in witness.records()
        if r.kind == "http" and r.role not in ("browser", "paywitness")
    )
    print(f"served by the demo servers: {sum(served.values())}, recorded: {sum(recorded.values())}")
    assert served, "the demo servers answered nothing"
    assert served - recorded == Counter(), "served but not in the ledger"
    assert recorded - served == Counter(), "in the ledger but served by nobody"


def test_card_number_reaches_only_the_gateway(
    page: Page, witness: Witness, paywitness_target: Target, buyer: Buyer, card: TestCard
) -> None:
    shop = paywitness_target.demo
    assert shop is not None
    assert witness.profile.flow is not None
    shop.reset()
    run_purchase(page, witness, witness.profile.flow, BuyerValues.of(buyer, card))
    carriers = {
        (e.company, e.host, e.method, e.path) for e in shop.requests_containing(card.number)
    }
    assert carriers == {("gateway", "pay.gateway.test", "POST", "/v1/charges")}
    # The ledger as stored never holds the number in plain text.
    assert card.number not in witness.ledger_path.read_text(encoding="utf-8")
"""


def test_ledger_and_card_against_the_demo_servers_own_logs(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "test_ground_truth_scenario.py").write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--scenarios", str(own),
         "--output", str(out), "-q", "-p", "no:cacheprovider", "-s"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    outcomes = verdict["meta"]["scenarios"]
    assert len(outcomes) == 4, done.stdout[-3000:]
    assert set(outcomes.values()) == {"passed"}, done.stdout[-4000:] + done.stderr[-2000:]
    assert "served by the demo servers: " in done.stdout
