"""Finishing a bundle at the end of a run, and re-judging a stored one offline."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from paywitness.errors import ConfigError
from paywitness.evidence.gate import evaluate_gate
from paywitness.evidence.har import write_har
from paywitness.evidence.html_report import REPORT_NAME, render_report
from paywitness.evidence.manifest import MANIFEST_NAME, sha256_file, write_manifest
from paywitness.evidence.runmeta import PROFILE_COPY, RUN_NAME, write_run_json
from paywitness.evidence.scorecard import (
    HISTORY_NAME,
    append_history,
    build_scorecard,
    scorecard_table,
    write_scorecard,
)
from paywitness.evidence.signing import sign_manifest
from paywitness.evidence.verify import check_bundle, new_record, seal_record
from paywitness.ledger import read_ledgers
from paywitness.profile import Profile, load_profile
from paywitness.run import (
    LEDGER_GLOB,
    RunContext,
    judge_bundle,
    unfinished_of,
)
from paywitness.verdict import Verdict, exit_code_for

__all__ = [
    "finalize_bundle",
    "history_path",
    "judge_new_bundle",
    "rejudge_bundle",
    "render_bundle",
]


def history_path(bundle: Path) -> Path:
    """Runs that share a parent folder (reports/) share a history."""
    return bundle.parent / HISTORY_NAME


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _history_until(bundle: Path, last: int) -> list[dict[str, Any]]:
    """The shared history's last `last` runs up to and including this bundle."""
    path = history_path(bundle)
    if not path.is_file():
        return []
    runs: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash: the rest of the trend still holds
    here = bundle.resolve()
    mine = [i for i, r in enumerate(runs) if Path(str(r.get("bundle"))).resolve() == here]
    if mine:
        runs = runs[: mine[-1] + 1]
    return runs[-last:]


def render_bundle(
    bundle: Path,
    profile: Profile,
    verdict: dict[str, Any] | None = None,
    *,
    dest: Path | None = None,
    notice: str | None = None,
    record_history: bool = False,
) -> dict[str, Any]:
    """Scorecard (with the profile's gate) and HTML report into `dest` (default the bundle)
    from the verdict (default `dest`'s verdict.json), over the bundle's ledgers and run.json;
    with `record_history` the run is appended to the reports folder's history first, so its
    own point is on the trend chart."""
    dest = dest or bundle
    if verdict is None:
        verdict = _read_json(dest / "verdict.json")
    run = _read_json(bundle / RUN_NAME) if (bundle / RUN_NAME).is_file() else {}
    card = build_scorecard(verdict, evaluate_gate(verdict, profile.gate))
    card["regulation"] = {
        name: clause.clause
        for name in card["categories"]
        if (clause := profile.regulation.get(name)) is not None
    }
    if notice:
        card["unverified"] = notice
    write_scorecard(dest, card)
    if record_history:
        append_history(history_path(bundle), bundle, card)
    records = read_ledgers(sorted(bundle.glob(LEDGER_GLOB)))
    history = _history_until(bundle, profile.evidence.history_runs)
    law = {k: v.model_dump(exclude_none=True) for k, v in profile.regulation.items()}
    from paywitness.seamless.report import screens_section

    html = render_report(
        verdict,
        card,
        run,
        records,
        notice=notice,
        history=history,
        regulation=law,
        screens=screens_section(bundle, verdict),
    )
    (dest / REPORT_NAME).write_text(html, "utf-8")
    return card


def finalize_bundle(
    run: RunContext,
    extra: dict[str, Any] | None = None,
    *,
    verdict: dict[str, Any] | None = None,
    before_manifest: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """After everything else of a run: run.json, HAR, scorecard, history, report, manifest.

    `verdict`: the run's verdict as just decided (default: the bundle's verdict.json).
    """
    out = run.output
    meta = write_run_json(run, extra)
    browsers = meta.get("browsers") or []
    write_har(out, browser=browsers[0] if browsers else None)
    card = render_bundle(out, run.profile, verdict, record_history=True)
    if before_manifest is not None:
        before_manifest(meta)
    write_manifest(out)
    return card


def _profile_of(bundle: Path, profile_path: Path | None) -> tuple[Path, Profile]:
    if not bundle.is_dir() or not any(bundle.glob(LEDGER_GLOB)):
        raise ConfigError(
            f"{bundle} is not a paywitness bundle (no {LEDGER_GLOB}); pass the output folder "
            "of a run, e.g. reports/latest"
        )
    if profile_path is None:
        profile_path = bundle / PROFILE_COPY
        if not profile_path.is_file():
            raise ConfigError(
                f"{bundle} holds no copy of its profile ({PROFILE_COPY}); pass --profile PATH"
            )
    return profile_path, load_profile(profile_path)


def _judge_stored(
    bundle: Path,
    profile: Profile,
    extra_meta: dict[str, Any],
    meta: dict[str, Any] | None = None,
    record: Path | None = None,
) -> Verdict:
    """The stored ledgers judged again (no browser). `meta`: the run's meta (scenario outcomes)
    when the caller has it (a merge), else the stored verdict's."""
    if meta is None:
        old = _read_json(bundle / "verdict.json") if (bundle / "verdict.json").is_file() else {}
        meta = old.get("meta") or {}
    old_meta = meta
    # A scenario that did not complete was not observed: the same rule as at run time.
    scenarios = old_meta.get("scenarios") or {}
    unfinished = unfinished_of(scenarios, old_meta.get("failed_on_findings") or ())
    verdict = judge_bundle(bundle, profile, unfinished, record=record)
    verdict.meta = {**old_meta, **extra_meta}
    from paywitness.scope import apply_mode_scope

    apply_mode_scope(verdict)  # a witnessed run: what its mode cannot observe, as at run time
    return verdict


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")


def judge_new_bundle(
    bundle: Path, meta: dict[str, Any], key: Ed25519PrivateKey | None = None
) -> int:
    """Judge a bundle being assembled (merge): verdict, reports and manifest at its top."""
    from paywitness.report_text import verdict_table

    _, profile = _profile_of(bundle, None)
    verdict = _judge_stored(bundle, profile, {}, meta)
    data = verdict.to_dict()
    _write_json(bundle / "verdict.json", data)
    card = render_bundle(bundle, profile, data)
    write_manifest(bundle)
    if key is not None:
        sign_manifest(bundle, key, MANIFEST_NAME)
    print(verdict_table(verdict, profile.regulation))
    print(scorecard_table(card))
    print(f"paywitness: judged {bundle}; report {bundle / REPORT_NAME}")
    return exit_code_for(verdict.verdict, gate=(card.get("gate") or {}).get("result"))


def rejudge_bundle(
    bundle: Path,
    profile_path: Path | None,
    *,
    force_unverified: bool = False,
    key: Ed25519PrivateKey | None = None,
    baseline: Path | None = None,
) -> int:
    """`paywitness report`: verify, then judge the stored ledgers again into a new dated record
    under rejudged/ (the original verdict and manifest are never touched). `baseline`: another
    bundle whose seamless figures this re-judging compares with, lent into the record."""
    profile_path, profile = _profile_of(bundle, profile_path)
    check = check_bundle(bundle)
    if not check.ok and not force_unverified:
        print(f"paywitness: {bundle} fails verification, so it is not re-judged:", file=sys.stderr)
        for line in check.failures():
            print(f"  {line}", file=sys.stderr)
        print(
            "paywitness: nothing was written; re-judging a bundle that was changed after it was "
            "sealed would launder the change. --force-unverified re-judges it anyway, marked "
            "UNVERIFIED everywhere",
            file=sys.stderr,
        )
        return 1
    notice = None
    if not check.ok:
        notice = (
            "UNVERIFIED: this bundle failed verification when it was re-judged ("
            + "; ".join(check.failures())
            + "); the verdict below is over files that may have been changed"
        )
    rejudged: dict[str, Any] = {
        "profile": str(profile_path),
        "original_manifest_sha256": sha256_file(bundle / MANIFEST_NAME),
        "verified": check.ok,
    }
    if notice:
        rejudged["unverified"] = check.failures()
    record = new_record(bundle, unverified=notice is not None)
    if baseline is not None:
        from paywitness.seamless.baseline import lend_baseline

        prefix = record.relative_to(bundle).as_posix() + "/"
        rejudged["baseline"] = lend_baseline(baseline, profile, record, prefix=prefix)
    verdict = _judge_stored(bundle, profile, {"rejudged": rejudged}, record=record)
    data = verdict.to_dict()
    _write_json(record / "verdict.json", data)
    card = render_bundle(bundle, profile, data, dest=record, notice=notice)
    seal_record(bundle, record, key)
    from paywitness.report_text import verdict_table

    print(verdict_table(verdict, profile.regulation))
    print(scorecard_table(card))
    if notice:
        print(f"paywitness: {notice}")
    rel = record.relative_to(bundle).as_posix()
    print(
        f"paywitness: re-judged {bundle} into {rel}/ (verdict, scorecard, report.html, its own "
        f"manifest chained to the original); {bundle / 'verdict.json'} is unchanged"
    )
    return exit_code_for(verdict.verdict, gate=(card.get("gate") or {}).get("result"))
