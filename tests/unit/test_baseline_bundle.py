"""Any bundle can be a baseline: lent figures and screens, re-judged offline; bad ones refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from builders import flow_record
from PIL import Image
from seamless_builders import TEST, purchases

from paywitness.cli import main
from paywitness.evidence.bundle import finalize_bundle
from paywitness.evidence.manifest import write_manifest
from paywitness.ledger import FlowRecord, LedgerWriter
from paywitness.profile import demo_profile_path, load_profile
from paywitness.run import RunContext
from paywitness.seamless.baseline import lend_baseline

SCREEN_DIR = "seamless/scenarios_test_seamless.py_test_purchase_card"


def _screen(output: Path, block: bool, *, test: str = TEST, side: str = "target") -> FlowRecord:
    """A screenshot of the `browse` moment, and the probe record that names it."""
    img = Image.new("RGB", (40, 40), (250, 250, 250))
    if block:  # a shifted element: a dark block where the baseline had none
        for x in range(10):
            for y in range(10):
                img.putpixel((x, y), (0, 0, 0))
    folder = SCREEN_DIR if test == TEST else f"seamless/{test.replace('/', '_').replace(':', '_')}"
    (output / folder).mkdir(parents=True, exist_ok=True)
    img.save(output / folder / f"{side}-browse.png")
    return flow_record(
        kind="client", id=f"screen-{side}", ts=101.0, step="browse",
        test=test + ("#baseline" if side == "baseline" else ""), probe="screen", name="browse",
        file=f"{side}-browse.png", dir=folder, run=side,
    )  # fmt: skip


def make_bundle(
    output: Path,
    handoffs: Sequence[float],
    *,
    block: bool = False,
    test: str = TEST,
    replay: Sequence[float] = (),
    baseline: Path | None = None,
) -> Path:
    """A finished bundle of the seamless scenario run once per hand-off time given (and, like
    the demo's pre-migration replay, once per `replay` time into the baseline ledger)."""
    path = demo_profile_path()
    run = RunContext(output=output, profile=load_profile(path), profile_path=path, seed=7)
    output.mkdir(parents=True)
    writer = LedgerWriter(run.ledger_path)
    for r in [*purchases(test, handoffs), _screen(output, block, test=test)]:
        writer.write(r)
    writer.close()
    if replay:
        writer = LedgerWriter(output / "baseline-ledger.jsonl")
        for r in [*purchases(test, replay, baseline=True), _screen(output, False, test=test,
                                                                   side="baseline")]:  # fmt: skip
            writer.write(r)
        writer.close()
    if baseline is not None:  # what `paywitness run --baseline BUNDLE` does before the run
        lend_baseline(baseline, run.profile, output)
    run.judge_and_write({"scenarios": {test: "passed"}})
    finalize_bundle(run)
    return output


def _seamless(bundle: Path) -> dict[str, dict[str, object]]:
    verdict = json.loads((bundle / "verdict.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in verdict["categories"]["seamless"]["checks"]}


def _gate(bundle: Path) -> str:
    """The seamless gate (the synthetic runs pay nothing, so the run itself is inconclusive)."""
    verdict = json.loads((bundle / "verdict.json").read_text(encoding="utf-8"))
    return str(verdict["categories"]["seamless"]["status"])


def test_a_slower_target_fails_against_a_lent_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = make_bundle(tmp_path / "before", [180, 200, 190])
    after = make_bundle(tmp_path / "after", [2200, 2150, 2300], baseline=before)
    assert _gate(after) == "fail"
    checks = _seamless(after)
    timing = str(checks["seamless.timing"]["summary"])
    assert checks["seamless.timing"]["status"] == "fail"
    assert "target median 2200 ms (2150..2300, n=3)" in timing
    assert "baseline median 190 ms (180..200, n=3)" in timing
    # The baseline's profile, version and date beside the comparison.
    assert "baseline bundle of profile 'paywitness demo shop' (paywitness 0.1.0" in timing
    assert checks["seamless.screens"]["status"] == "pass"
    assert (after / SCREEN_DIR / "diff-browse.png").is_file()
    assert "baseline and target side by side" in (after / "report.html").read_text("utf-8")
    assert main(["verify", str(after)]) == 0
    capsys.readouterr()


def test_the_same_shop_passes_and_a_shifted_screen_fails(tmp_path: Path) -> None:
    before = make_bundle(tmp_path / "before", [180, 200, 190])
    same = make_bundle(tmp_path / "same", [190, 185, 205], baseline=before)
    assert _gate(same) == "pass"
    shifted = make_bundle(tmp_path / "shifted", [190, 185, 205], block=True, baseline=before)
    screens = _seamless(shifted)["seamless.screens"]
    assert screens["status"] == "fail"
    assert "browse 6.25%" in str(screens["summary"])


def test_report_lends_a_baseline_to_a_sealed_run_into_its_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stored run judged afterwards against another bundle: the sealed run is not changed."""
    before = make_bundle(tmp_path / "before", [180, 200, 190])
    after = make_bundle(tmp_path / "after", [2200, 2150, 2300], block=True)
    assert "no baseline" in str(_seamless(after)["seamless.timing"]["summary"])
    sealed = {p: p.read_bytes() for p in after.rglob("*") if p.is_file()}
    assert main(["report", str(after), "--baseline", str(before)]) in (1, 3)
    capsys.readouterr()
    assert {p: p.read_bytes() for p in sealed} == sealed  # not one byte of the run changed
    (record,) = (after / "rejudged").iterdir()
    verdict = json.loads((record / "verdict.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in verdict["categories"]["seamless"]["checks"]}
    assert checks["seamless.timing"]["status"] == "fail"
    assert "baseline median 190 ms (180..200, n=3)" in str(checks["seamless.timing"]["summary"])
    assert checks["seamless.screens"]["status"] == "fail"  # the shifted block, against the lent
    assert (record / SCREEN_DIR / "diff-browse.png").is_file()
    assert verdict["meta"]["rejudged"]["baseline"]["profile"]
    assert "baseline and target side by side" in (record / "report.html").read_text("utf-8")
    assert main(["verify", str(after)]) == 0  # the record is sealed and chained too
    capsys.readouterr()


def _edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("tamper", "does not match its manifest"),
        ("roles", "a profile of other roles"),
        ("version", "written by paywitness 9.0.0"),
        ("not-a-bundle", "is not a paywitness evidence bundle"),
    ],
)
def test_a_bad_baseline_is_a_usage_error(
    tmp_path: Path, spoil: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = make_bundle(tmp_path / "before", [200])
    after = make_bundle(tmp_path / "after", [200])
    capsys.readouterr()
    if spoil == "tamper":
        with (before / "ledger.jsonl").open("a", encoding="utf-8") as fh:
            fh.write("\n")
    elif spoil == "roles":
        text = (before / "profile.yaml").read_text(encoding="utf-8")
        extra_role = '  - name: third_party\n    hosts: ["*.ads.test"]\n\npayment:'
        text = text.replace("\npayment:", "\n" + extra_role, 1)
        (before / "profile.yaml").write_text(text, encoding="utf-8")
        write_manifest(before)
    elif spoil == "version":
        _edit_json(before / "run.json", version="9.0.0")
        write_manifest(before)
    else:
        before = tmp_path / "empty"
        before.mkdir()
    assert main(["report", str(after), "--baseline", str(before)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_an_older_compatible_bundle_still_lends(tmp_path: Path) -> None:
    before = make_bundle(tmp_path / "before", [200, 190, 210])
    _edit_json(before / "run.json", version="0.0.9")
    write_manifest(before)
    after = make_bundle(tmp_path / "after", [200, 205, 195], baseline=before)
    assert _gate(after) == "pass"


@pytest.mark.parametrize("command", ["demo", "run"])
def test_repeat_zero_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    extra = ["--profile", str(demo_profile_path())] if command == "run" else []
    assert main([command, *extra, "--repeat", "0", "--output", str(tmp_path / "o")]) == 2
    assert "--repeat 0: a side needs at least one run" in capsys.readouterr().err


def test_a_waiver_of_an_unknown_check_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo_profile_path().read_text(encoding="utf-8")
    text = text.replace(
        "seamless:\n", "seamless:\n  waive: [{check: speed, reason: slow on purpose}]\n", 1
    )
    profile = tmp_path / "p.yaml"
    profile.write_text(text, encoding="utf-8")
    assert main(["profile", "check", str(profile)]) == 2
    assert "'speed' is not a seamless check" in capsys.readouterr().err


def test_merged_shards_judge_seamlessness_like_one_run(tmp_path: Path) -> None:
    other = TEST.replace("[card]", "[ewallet]")
    s1 = make_bundle(tmp_path / "s1", [200, 190, 210], replay=[200, 205, 195])
    s2 = make_bundle(tmp_path / "s2", [2200, 2150, 2300], test=other, replay=[200, 205, 195])
    merged = tmp_path / "merged"
    assert main(["merge", str(s1), str(s2), "--output", str(merged)]) == 1
    checks = _seamless(merged)
    timing = str(checks["seamless.timing"]["summary"])
    assert checks["seamless.timing"]["status"] == "fail"  # the slow shard's scenario
    assert "test_purchase[ewallet] buy_to_checkout_ready_ms: target median 2200 ms" in timing
    assert "baseline median 200 ms (195..205, n=3)" in timing
    screens = checks["seamless.screens"]
    assert screens["status"] == "pass"
    assert len(screens["figures"]) == 2  # both shards' screens, compared after the merge
    assert sorted(merged.glob("baseline-ledger-s*.jsonl"))
