"""`paywitness merge`: shards of one run (several machines) into one bundle and one verdict."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from paywitness.errors import ConfigError, EvidenceError
from paywitness.evidence.bundle import judge_new_bundle
from paywitness.evidence.har import HAR_NAME
from paywitness.evidence.manifest import MANIFEST_NAME, is_bundle, sha256_file
from paywitness.evidence.runmeta import PROFILE_COPY, RUN_NAME, shard_of_command
from paywitness.evidence.verify import check_bundle
from paywitness.ledger import FlowRecord, LedgerWriter, read_ledger
from paywitness.run import LEDGER_GLOB

__all__ = ["merge_bundles"]

# `seamless/`: each scenario's screenshots of both sides (the screens check compares them).
_COPY_DIRS = ("screenshots", "traces", "allure-results", "seamless")
_BASELINE_GLOB = "baseline-ledger*.jsonl"  # the demo's pre-migration replay, per worker


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _shard_of(run: dict[str, Any]) -> str | None:
    """The `I/N` a bundle's run was limited to (run.json, or its command line)."""
    return str(run["shard"]) if run.get("shard") else shard_of_command(run.get("command") or [])


def _check_distinct(bundles: list[Path]) -> None:
    """Each shard once: no bundle twice, no run id and shard twice, no scenario in two."""
    problems: list[str] = []
    seen_manifest: dict[str, Path] = {}
    seen_shard: dict[str, tuple[Path, object]] = {}
    seen_test: dict[str, Path] = {}
    for b in bundles:
        digest = sha256_file(b / MANIFEST_NAME)
        if digest in seen_manifest:
            problems.append(f"{seen_manifest[digest]} and {b} are the same bundle (same manifest)")
            continue
        seen_manifest[digest] = b
        run = _json(b / RUN_NAME)
        shard = _shard_of(run)
        if shard is not None:
            if shard in seen_shard:
                other, other_id = seen_shard[shard]
                rid = run.get("run_id")
                same = f" of the same run {rid}" if rid and rid == other_id else ""
                problems.append(f"{other} and {b} are both shard {shard}{same}")
            seen_shard[shard] = (b, run.get("run_id"))
        scenarios = (_json(b / "verdict.json").get("meta") or {}).get("scenarios") or {}
        overlap = sorted(t for t in scenarios if t in seen_test)
        if overlap:
            other = seen_test[overlap[0]]
            more = f" and {len(overlap) - 1} more" if len(overlap) > 1 else ""
            problems.append(f"{other} and {b} overlap: both ran {overlap[0]}{more}")
        for t in scenarios:
            seen_test.setdefault(t, b)
    if problems:
        raise ConfigError(
            "duplicate or overlapping shards: "
            + "; ".join(problems)
            + ". Merge each shard of one run once (paywitness demo/run --shard I/N)"
        )


def _check_inputs(bundles: list[Path], output: Path) -> None:
    if len(bundles) < 2:
        raise ConfigError("merge needs at least two bundles (the output folders of the shards)")
    resolved = [b.resolve() for b in bundles]
    twice = sorted(
        {str(b) for b, r in zip(bundles, resolved, strict=True) if resolved.count(r) > 1}
    )
    if twice:
        raise ConfigError(
            f"the same bundle was named twice ({', '.join(twice)}); name each shard's folder once"
        )
    for b in bundles:
        if not is_bundle(b):
            raise ConfigError(f"{b} is not a paywitness bundle (no MANIFEST.sha256/verdict.json)")
        check = check_bundle(b)
        if not check.ok:
            raise EvidenceError(
                f"{b} fails verification ({'; '.join(check.failures())}); a tampered or "
                "incomplete shard cannot be merged"
            )
    _check_distinct(bundles)
    digests = {hashlib.sha256((b / PROFILE_COPY).read_bytes()).hexdigest() for b in bundles}
    if len(digests) != 1:
        raise ConfigError(
            "the shards were run with different profiles; merge only shards of one run"
        )
    if output.exists() and any(output.iterdir()):
        raise ConfigError(f"the output folder {output} is not empty; name a new folder")


def _merge_har(parts: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    pages: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    log: dict[str, Any] = {}
    for k, har in parts:
        log = log or {
            key: v for key, v in har.get("log", {}).items() if key not in ("pages", "entries")
        }
        for page in har.get("log", {}).get("pages", []):
            pages.append({**page, "id": f"s{k}.{page['id']}"})
        for entry in har.get("log", {}).get("entries", []):
            ref = entry.get("pageref")
            entries.append({**entry, **({"pageref": f"s{k}.{ref}"} if ref else {})})
    entries.sort(key=lambda e: str(e.get("startedDateTime", "")))
    return {"log": {**log, "pages": pages, "entries": entries}}


def _merge_lent_baseline(bundle: Path, output: Path) -> None:
    """A baseline bundle lent to the shards (`--baseline`): one copy, the same for every shard."""
    from paywitness.seamless.baseline import BASELINE_JSON, LENT_DIR

    if not (bundle / BASELINE_JSON).is_file():
        return
    lent = _json(bundle / BASELINE_JSON)
    if (output / BASELINE_JSON).is_file():
        first = _json(output / BASELINE_JSON)
        if first.get("bundle") != lent.get("bundle"):
            raise ConfigError(
                f"{bundle} was judged against another baseline ({lent.get('bundle')}) than the "
                f"first shard ({first.get('bundle')}); shards of one run share one baseline"
            )
        return
    shutil.copy2(bundle / BASELINE_JSON, output / BASELINE_JSON)
    shutil.copytree(bundle / LENT_DIR, output / LENT_DIR)


def merge_bundles(bundles: list[Path], output: Path, key: Ed25519PrivateKey | None = None) -> int:
    """Merge shard bundles into `output`, re-judge all their flows together; exit per verdict."""
    _check_inputs(bundles, output)
    output.mkdir(parents=True, exist_ok=True)
    scenarios: dict[str, str] = {}
    judged: set[str] = set()
    combinations: dict[str, dict[str, int]] = {}
    hars: list[tuple[int, dict[str, Any]]] = []
    shards: list[dict[str, Any]] = []
    canaries: list[str] = []
    for k, bundle in enumerate(bundles, 1):
        ledgers = [(p, "ledger") for p in sorted(bundle.glob(LEDGER_GLOB))]
        ledgers += [(p, "baseline-ledger") for p in sorted(bundle.glob(_BASELINE_GLOB))]
        for ledger, prefix in ledgers:
            writer = LedgerWriter(
                output / f"{prefix}-s{k}-{ledger.stem.removeprefix(prefix)}.jsonl"
            )
            try:
                for rec in read_ledger(ledger):
                    data = json.loads(rec.to_json())
                    data["id"] = f"s{k}.{rec.id}"
                    data["worker"] = f"s{k}.{rec.worker}"
                    writer.write(FlowRecord.from_dict(data))
            finally:
                writer.close()
        for d in _COPY_DIRS:
            if (bundle / d).is_dir():
                shutil.copytree(bundle / d, output / d, dirs_exist_ok=True)
        _merge_lent_baseline(bundle, output)
        if (bundle / "canaries.jsonl").is_file():
            canaries.append((bundle / "canaries.jsonl").read_text(encoding="utf-8"))
        if (bundle / "junit.xml").is_file():
            shutil.copy2(bundle / "junit.xml", output / f"junit-s{k}.xml")
        if (bundle / HAR_NAME).is_file():
            hars.append((k, _json(bundle / HAR_NAME)))
        meta = _json(bundle / "verdict.json").get("meta") or {}
        scenarios.update(meta.get("scenarios") or {})
        judged.update(meta.get("failed_on_findings") or ())
        for combo, counts in (meta.get("combinations") or {}).items():
            merged = combinations.setdefault(combo, {})
            for outcome, n in counts.items():
                merged[outcome] = merged.get(outcome, 0) + int(n)
        shard_run = _json(bundle / RUN_NAME)
        shards.append(
            {
                "bundle": str(bundle),
                "verdict": _json(bundle / "verdict.json").get("verdict"),
                "run_id": shard_run.get("run_id"),
                "shard": _shard_of(shard_run),
                "manifest_sha256": sha256_file(bundle / MANIFEST_NAME),
            }
        )
    shutil.copy2(bundles[0] / PROFILE_COPY, output / PROFILE_COPY)
    if canaries:
        (output / "canaries.jsonl").write_text("".join(canaries), encoding="utf-8")
    if hars:
        (output / HAR_NAME).write_text(json.dumps(_merge_har(hars), indent=1), encoding="utf-8")
    first_run = _json(bundles[0] / RUN_NAME)
    (output / RUN_NAME).write_text(
        json.dumps(
            {**first_run, "run_id": uuid.uuid4().hex, "shard": None, "merged_from": shards},
            indent=2,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    meta = {
        "scenarios": scenarios,
        "combinations": combinations,
        "failed_on_findings": sorted(judged),
        "shards": shards,
    }
    return judge_new_bundle(output, meta, key)
