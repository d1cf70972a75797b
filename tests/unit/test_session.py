"""The recording session without a browser: one addon chain, and every record it did not
proxy itself stamped (test, step), classified and masked by `note`."""

from __future__ import annotations

import json
from pathlib import Path

from paywitness.buyers import make_buyer, make_card
from paywitness.canaries import CanarySet
from paywitness.ledger import read_ledger
from paywitness.profile import demo_profile_path, load_profile
from paywitness.run import RunContext
from paywitness.session import RecordingSession, Target


def _session(tmp_path: Path) -> RecordingSession:
    path = demo_profile_path()
    run = RunContext(output=tmp_path / "out", profile=load_profile(path), profile_path=path, seed=3)
    return RecordingSession(run, target=Target())


def test_the_one_chain_and_note_stamps_and_masks(tmp_path: Path) -> None:
    session = _session(tmp_path)
    buyer = make_buyer(3)
    canaries = CanarySet.from_buyer(buyer, make_card(3, "success")).canaries
    with session:
        names = [type(a).__name__ for a in session._running().addons]
        assert names == [
            "FaultInjector",
            "CanaryWatch",
            "ArtefactWatch",
            "BackendRecorder",
            "HostMap",
            "HarCapture",
        ]  # TlsFailures joins only where the client's trust is not ours (witness mode)
        session.begin_test("t::one", canaries=session.register_canaries("t::one", canaries, 3))
        session.set_step("checkout")
        rec = session.note(
            "client", f"https://pay.gateway.test/v1/charges?email={buyer.email}&token=abc"
        )
        session.end_test("passed")
    assert (rec.test, rec.step, rec.role) == ("t::one", "checkout", "gateway")
    assert buyer.email not in rec.url
    assert "token=[masked" in rec.url
    records = list(read_ledger(session.run.ledger_path))
    assert [r.kind for r in records] == ["plant", "mark", "client", "mark"]
    assert records[-1].step == "unlabelled"
    assert records[-1].test == "t::one"
    assert buyer.email not in session.run.ledger_path.read_text()
    assert (session.run.output / "ca" / "proxy-ca-main.pem").is_file()


def test_finish_decides_once_and_writes_the_bundle(tmp_path: Path) -> None:
    session = _session(tmp_path)
    with session:
        session.begin_test("t::one")
        session.set_step("pay")
        session.end_test("error")
    result = session.finish()
    assert result.verdict is not None
    assert result.verdict.verdict == "inconclusive"  # too little observed, and t::one errored
    assert result.exit_code == 3
    assert result.scorecard is not None
    written = json.loads((result.bundle / "verdict.json").read_text())
    assert written["verdict"] == "inconclusive"
    assert written["meta"]["scenarios"] == {"t::one": "error"}
    assert (result.bundle / "MANIFEST.sha256").is_file()


def test_a_run_that_recorded_nothing_has_no_verdict(tmp_path: Path) -> None:
    result = _session(tmp_path).finish()
    assert (result.verdict, result.exit_code) == (None, 3)
    assert not result.bundle.exists()
