"""Finishing a bundle at the end of a run, and re-judging a stored one offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paywitness.errors import ConfigError
from paywitness.evidence.gate import evaluate_gate
from paywitness.evidence.har import HAR_NAME, write_har
from paywitness.evidence.html_report import REPORT_NAME, render_report
from paywitness.evidence.manifest import write_manifest
from paywitness.evidence.runmeta import PROFILE_COPY, RUN_NAME, write_run_json
from paywitness.evidence.scorecard import (
    HISTORY_NAME,
    append_history,
    build_scorecard,
    scorecard_table,
    write_scorecard,
)
from paywitness.ledger import read_ledgers
from paywitness.profile import Profile, load_profile
from paywitness.run import (
    LEDGER_GLOB,
    RunContext,
    judge_bundle,
    unfinished_of,
)
from paywitness.verdict import exit_code_for

__all__ = ["finalize_bundle", "history_path", "rejudge_bundle", "render_bundle"]


def history_path(bundle: Path) -> Path:
    """Runs that share a parent folder (reports/) share a history."""
    return bundle.parent / HISTORY_NAME


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def render_bundle(
    bundle: Path, profile: Profile, verdict: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Scorecard (with the profile's gate) and HTML report from the verdict (by default the
    bundle's verdict.json)."""
    if verdict is None:
        verdict = _read_json(bundle / "verdict.json")
    run = _read_json(bundle / RUN_NAME) if (bundle / RUN_NAME).is_file() else {}
    card = build_scorecard(verdict, evaluate_gate(verdict, profile.gate))
    write_scorecard(bundle, card)
    records = read_ledgers(sorted(bundle.glob(LEDGER_GLOB)))
    from paywitness.seamless.report import screens_section

    html = render_report(verdict, card, run, records, screens_section(bundle, verdict))
    (bundle / REPORT_NAME).write_text(html, "utf-8")
    return card


def finalize_bundle(
    run: RunContext,
    extra: dict[str, Any] | None = None,
    *,
    verdict: dict[str, Any] | None = None,
    before_manifest: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """After everything else of a run: run.json, HAR, scorecard, report, history, manifest.

    `verdict`: the run's verdict as just decided (default: the bundle's verdict.json).
    """
    out = run.output
    meta = write_run_json(run, extra)
    browsers = meta.get("browsers") or []
    write_har(out, browser=browsers[0] if browsers else None)
    card = render_bundle(out, run.profile, verdict)
    append_history(history_path(out), out, card)
    if before_manifest is not None:
        before_manifest(meta)
    write_manifest(out)
    return card


def rejudge_bundle(
    bundle: Path, profile_path: Path | None, meta: dict[str, Any] | None = None
) -> int:
    """`paywitness report`: judge the stored ledgers again (no browser) and re-render.

    `meta`: the run's meta (scenario outcomes) when the caller has it (a merge), else the
    stored verdict's.
    """
    from paywitness.report_text import verdict_table

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
    profile = load_profile(profile_path)
    if meta is None:
        old = _read_json(bundle / "verdict.json") if (bundle / "verdict.json").is_file() else {}
        meta = old.get("meta") or {}
    old_meta = meta
    # A scenario that did not complete was not observed: the same rule as at run time.
    scenarios = old_meta.get("scenarios") or {}
    unfinished = unfinished_of(scenarios, old_meta.get("failed_on_findings") or ())
    verdict = judge_bundle(bundle, profile, unfinished)
    verdict.meta = {**old_meta, "rejudged": {"profile": str(profile_path)}}
    data = verdict.to_dict()
    (bundle / "verdict.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    card = render_bundle(bundle, profile, data)
    write_manifest(bundle)
    print(verdict_table(verdict))
    print(scorecard_table(card))
    print(f"paywitness: re-judged {bundle}; report {bundle / REPORT_NAME}; HAR {bundle / HAR_NAME}")
    return exit_code_for(verdict.verdict, gate=(card.get("gate") or {}).get("result"))
