"""Baselines: where a run's seamless figures are compared from, and the screens compared to them.

A baseline is the same purchase before the migration. It comes from one of:

- a **stored bundle** (`--baseline BUNDLE`): any earlier run's evidence bundle lends its
  seamless figures (its verdict does not matter; its hosts may differ). `lend_baseline` checks
  it (`verify`, the same roles, a compatible paywitness) and copies its browser-side records and
  screenshots into this run's bundle under `baseline-lent/`, so the bundle stays self-contained
  and re-judges offline;
- the demo's **built-in replay** of the pre-migration shop (`baseline-ledger*.jsonl`).

`baseline_view` is what the judge reads: the baseline's records plus the screen comparison of
every moment both sides photographed (diff images written next to the target's screenshots).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paywitness.errors import ConfigError
from paywitness.ledger import FlowRecord, LedgerWriter, read_ledgers
from paywitness.profile import Profile, load_profile
from paywitness.seamless.figures import BASELINE_SUFFIX, series_of
from paywitness.seamless.screens import compare_images

__all__ = [
    "BASELINE_JSON",
    "LENT_DIR",
    "REPLAY_GLOB",
    "baseline_view",
    "check_baseline_bundle",
    "lend_baseline",
    "screen_records",
    "source_record",
]

BASELINE_JSON = "baseline.json"
LENT_DIR = "baseline-lent"
REPLAY_GLOB = "baseline-ledger*.jsonl"
_LENT_LEDGER = "ledger.jsonl"
_SOURCE_PROBE = "baseline-source"
_SEAMLESS_FORMAT = 2  # analysers.seamless.SEAMLESS_FORMAT (no import: it imports us indirectly)
_LEDGER_GLOB = "ledger*.jsonl"
_PROFILE_COPY = "profile.yaml"


def _json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def check_baseline_bundle(bundle: Path, profile: Profile) -> dict[str, Any]:
    """Refuse a bundle that cannot serve as this profile's baseline; its description if it can."""
    from paywitness._version import __version__
    from paywitness.evidence.manifest import is_bundle, verify_bundle

    if not is_bundle(bundle):
        raise ConfigError(
            f"--baseline {bundle} is not a paywitness evidence bundle (no MANIFEST.sha256, "
            "verdict.json or run.json); pass the output folder of an earlier run or of "
            "`paywitness baseline record`"
        )
    result = verify_bundle(bundle)
    if not result.intact:
        raise ConfigError(
            f"--baseline {bundle} does not match its manifest ({'; '.join(result.lines()[:5])}); "
            "a tampered or incomplete bundle cannot serve as a baseline"
        )
    if not any(bundle.glob(_LEDGER_GLOB)):
        raise ConfigError(
            f"--baseline {bundle} holds no ledger ({_LEDGER_GLOB}) to take figures from"
        )
    run = _json(bundle / "run.json")
    verdict = _json(bundle / "verdict.json")
    meta = verdict.get("meta") or {}
    version = str(run.get("version") or meta.get("version") or "")
    seamless = ((verdict.get("categories") or {}).get("seamless") or {}).get("observed") or {}
    fmt = int(seamless.get("format") or 1)
    ours = _version_tuple(__version__)
    if not version or _version_tuple(version)[:1] != ours[:1] or fmt > _SEAMLESS_FORMAT:
        raise ConfigError(
            f"--baseline {bundle} was written by paywitness {version or 'of unknown version'} "
            f"(seamless figures format {fmt}); this paywitness {__version__} reads bundles of "
            f"major version {ours[0]} with format <= {_SEAMLESS_FORMAT}: record the baseline "
            "again with this version (`paywitness baseline record`)"
        )
    theirs_path = bundle / _PROFILE_COPY
    if not theirs_path.is_file():
        raise ConfigError(f"--baseline {bundle} holds no copy of its profile ({_PROFILE_COPY})")
    try:
        theirs = load_profile(theirs_path)
    except ConfigError as e:
        raise ConfigError(f"--baseline {bundle}: its profile copy is not valid: {e}") from e
    mine_roles = sorted({r.name for r in profile.roles})
    their_roles = sorted({r.name for r in theirs.roles})
    if mine_roles != their_roles:
        raise ConfigError(
            f"--baseline {bundle} was recorded with a profile of other roles "
            f"({', '.join(their_roles)}) than this run's ({', '.join(mine_roles)}); a baseline "
            "must describe the same shop (its hosts may differ, its roles may not)"
        )
    git = run.get("git") or {}
    return {
        "kind": "bundle",
        "bundle": str(bundle.resolve()),
        "profile": theirs.name,
        "version": version,
        "commit": git.get("commit") if isinstance(git, dict) else None,
        "date": str(meta.get("started") or run.get("started") or ""),
        "verdict": verdict.get("verdict"),
        "format": fmt,
    }


def source_record(source: dict[str, Any], test: str = "") -> FlowRecord:
    """The record naming the baseline's origin (printed beside every comparison)."""
    now = time.time()
    return FlowRecord(
        id=f"baseline-source-{int(now * 1000)}",
        kind="client",
        ts_start=now,
        ts_end=now,
        step="unlabelled",
        test=test or f"baseline{BASELINE_SUFFIX}",
        extra={"probe": _SOURCE_PROBE, **{k: v for k, v in source.items() if k != "bundle"}},
    )


def _lent_test(test: str) -> str | None:
    """The baseline-side test id of a lent record (its own replays are not its figures)."""
    if BASELINE_SUFFIX in test:
        return None
    head, sep, rest = test.partition("#")
    return f"{head}{BASELINE_SUFFIX}" + (f"#{rest}" if sep else "")


def lend_baseline(
    bundle: Path, profile: Profile, output: Path, *, prefix: str = ""
) -> dict[str, Any]:
    """Copy a checked baseline bundle's seamless figures and screens into `output`.

    `prefix`: where `output` sits inside the judged bundle (a re-judged record's folder), so the
    lent screenshots' paths stay relative to the bundle like every other picture's.
    """
    source = check_baseline_bundle(bundle, profile)
    lent = output / LENT_DIR
    if lent.exists():
        shutil.rmtree(lent)
    lent.mkdir(parents=True)
    writer = LedgerWriter(lent / _LENT_LEDGER)
    try:
        writer.write(source_record(source))
        for rec in read_ledgers(sorted(bundle.glob(_LEDGER_GLOB))):
            if rec.kind not in ("client", "mark", "http") or not rec.test:
                continue
            if rec.extra.get("probe") in ("screen-diff", _SOURCE_PROBE):
                continue
            test = _lent_test(rec.test)
            if test is None:
                continue
            extra = dict(rec.extra)
            if extra.get("probe") == "screen" and extra.get("dir"):
                extra["dir"] = f"{prefix}{LENT_DIR}/{extra['dir']}"
            data = json.loads(rec.to_json())
            data.update(id=f"b.{rec.id}", test=test, extra=extra, canary_hits=[])
            writer.write(FlowRecord.from_dict(data))
    finally:
        writer.close()
    if (bundle / "seamless").is_dir():
        shutil.copytree(
            bundle / "seamless",
            lent / "seamless",
            ignore=shutil.ignore_patterns("diff-*", "baseline-*"),
        )
    (output / BASELINE_JSON).write_text(
        json.dumps({**source, "lent": datetime.now(UTC).isoformat()}, indent=2) + "\n",
        encoding="utf-8",
    )
    return source


def _stored_baseline(bundle: Path, lent: Path | None = None) -> list[FlowRecord]:
    """The baseline a bundle carries (lent to it at run time, or replayed in it); `lent`: a
    re-judged record's folder holding a baseline lent after the run, which wins."""
    for root in (lent, bundle):
        if root is None:
            continue
        if (root / BASELINE_JSON).is_file() and (root / LENT_DIR / _LENT_LEDGER).is_file():
            return read_ledgers([root / LENT_DIR / _LENT_LEDGER])
    return read_ledgers(sorted(bundle.glob(REPLAY_GLOB)))


def _screens_of(records: Iterable[FlowRecord]) -> dict[tuple[str, str], Path]:
    """(series, moment) -> screenshot path (relative to the bundle) of each side's first run."""
    out: dict[tuple[str, str], Path] = {}
    for r in records:
        e = r.extra
        if r.kind != "client" or e.get("probe") != "screen" or not r.test or not e.get("dir"):
            continue
        if "#r" in r.test:  # only first repeats are photographed; be safe with older bundles
            continue
        out.setdefault(
            (series_of(r.test), str(e.get("name"))), Path(str(e["dir"])) / str(e["file"])
        )
    return out


def screen_records(
    bundle: Path,
    profile: Profile,
    target: Sequence[FlowRecord],
    baseline: Sequence[FlowRecord],
    *,
    diffs_under: str = "",
) -> list[FlowRecord]:
    """Pixel-compare every moment both sides photographed; one `screen-diff` record each.

    Paths are relative to `bundle`; `diffs_under` (a re-judged record's folder) keeps the diff
    pictures out of a sealed bundle's own files."""
    mine = _screens_of(target)
    theirs = _screens_of(baseline)
    by_name: dict[str, list[str]] = {}
    for series, _ in theirs:
        by_name.setdefault(series.split("::")[-1], []).append(series)
    out: list[FlowRecord] = []
    threshold = profile.seamless.pixel_threshold
    for (series, moment), actual_rel in sorted(mine.items()):
        expected_rel = theirs.get((series, moment))
        if expected_rel is None:
            candidates = sorted(set(by_name.get(series.split("::")[-1], [])))
            if len(candidates) == 1:
                expected_rel = theirs.get((candidates[0], moment))
        if expected_rel is None:
            continue
        expected, actual = bundle / expected_rel, bundle / actual_rel
        if not expected.is_file() or not actual.is_file():
            continue
        diff_rel = Path(diffs_under) / actual_rel.parent / f"diff-{moment}.png"
        (bundle / diff_rel).parent.mkdir(parents=True, exist_ok=True)
        diff = compare_images(expected, actual, threshold=threshold, diff_path=bundle / diff_rel)
        now = time.time()
        out.append(
            FlowRecord(
                id=f"screen-diff-{len(out) + 1}",
                kind="client",
                ts_start=now,
                ts_end=now,
                step="unlabelled",
                test=f"{series}{BASELINE_SUFFIX}",
                extra={
                    "probe": "screen-diff",
                    "name": moment,
                    "diff_pixels": diff.diff_pixels,
                    "total_pixels": diff.total_pixels,
                    "ratio": round(diff.ratio, 5),
                    "threshold": threshold,
                    "file": diff_rel.as_posix(),
                    "expected": expected_rel.as_posix(),
                    "actual": actual_rel.as_posix(),
                },
            )
        )
    return out


def baseline_view(
    bundle: Path, profile: Profile, target: Sequence[FlowRecord], *, record: Path | None = None
) -> list[FlowRecord]:
    """The baseline records the seamless analyser reads, with fresh screen comparisons.

    `record`: the re-judged record being written (inside `bundle`); a baseline lent to it is
    read from there and the comparisons' pictures are written there, never into the bundle."""
    stored = [r for r in _stored_baseline(bundle, record) if r.extra.get("probe") != "screen-diff"]
    under = record.relative_to(bundle).as_posix() if record is not None else ""
    return stored + screen_records(bundle, profile, target, stored, diffs_under=under)
