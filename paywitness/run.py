"""A run: its output folder (the evidence bundle), its ledgers and its judgement."""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paywitness.analysers import judge
from paywitness.classify import Classifier
from paywitness.errors import ConfigError
from paywitness.ledger import FlowRecord, read_ledgers
from paywitness.profile import Profile, profile_digest
from paywitness.verdict import Verdict

__all__ = [
    "BASELINE_LEDGER_GLOB",
    "LEDGER_GLOB",
    "Outcomes",
    "RunContext",
    "control_records",
    "default_output_dir",
    "judge_bundle",
    "set_aside_cut_short",
    "unfinished_of",
    "update_latest_link",
]

LEDGER_GLOB = "ledger*.jsonl"
BASELINE_LEDGER_GLOB = "baseline-ledger*.jsonl"


def default_output_dir(base: Path = Path("reports")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out = base / stamp
    n = 1
    while out.exists():
        n += 1
        out = base / f"{stamp}-{n}"
    return out


def update_latest_link(output: Path) -> None:
    """Point `<parent>/latest` at this run (a symlink; ignored where links are impossible)."""
    latest = output.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(output.name, target_is_directory=True)
    except OSError:
        return


def ensure_writable(output: Path) -> None:
    try:
        output.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: the run's xdist workers check the same folder at once,
        # and one's unlink of a shared probe made the other's fail (ENOENT, seen in CI).
        probe = output / f".write-test-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_text("ok")
        probe.unlink(missing_ok=True)
    except OSError as e:
        raise ConfigError(
            f"the output folder {output} is not writable ({e.strerror or e}); pass a folder you "
            "can write to with --output / --paywitness-output"
        ) from e


def ensure_fresh(output: Path) -> None:
    """Refuse an output folder that already holds a run's evidence: a second run would append
    its records to the first one's ledgers and judge both together. Nothing is deleted."""
    held = [n for n in ("verdict.json", "run.json") if (output / n).is_file()]
    held += sorted(p.name for p in output.glob(LEDGER_GLOB))[:3]
    if held:
        raise ConfigError(
            f"the output folder {output} already holds a run's evidence ({', '.join(held)}); a "
            "new run there would mix its records with the old ones and judge them together. "
            "Pass a new folder with --output (the default is a new reports/<time>/), or move "
            "the old bundle away first"
        )


@dataclass
class RunContext:
    """Everything one run (one pytest session, possibly several xdist workers) shares."""

    output: Path
    profile: Profile
    profile_path: Path
    seed: int
    worker: str = "main"
    demo: bool = False
    violations: tuple[str, ...] = ()
    baseline: bool = False
    #: Pair the run with a control run without the proxy (`--control`, `observation.control`).
    control: bool = False
    started: float = field(default_factory=time.time)

    @property
    def ledger_path(self) -> Path:
        name = "ledger.jsonl" if self.worker == "main" else f"ledger-{self.worker}.jsonl"
        return self.output / name

    def ledger_paths(self) -> list[Path]:
        return sorted(self.output.glob(LEDGER_GLOB))

    def meta(self) -> dict[str, Any]:
        from paywitness._version import __version__

        return {
            "tool": "paywitness",
            "version": __version__,
            "profile": {
                "name": self.profile.name,
                "path": str(self.profile_path),
                "sha256": profile_digest(self.profile_path),
            },
            "target": "demo" if self.demo else self.profile.start_url,
            "violations": list(self.violations),
            "baseline": self.baseline,
            "control": self.control,
            "seed": self.seed,
            "started": datetime.fromtimestamp(self.started, UTC).isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "command": [os.path.basename(sys.argv[0]), *sys.argv[1:]],
        }

    def judge_and_write(
        self,
        extra_meta: dict[str, Any] | None = None,
        *,
        unfinished: list[str] | None = None,
        classifier: Classifier | None = None,
    ) -> Verdict | None:
        """Judge every ledger of the run and write verdict.json; None if nothing was recorded.

        A scenario that failed or errored for any reason other than a finding never lets the
        run pass: what it did not get to do was not observed.
        """
        paths = self.ledger_paths()
        if not paths:
            return None
        records = set_aside_cut_short(read_ledgers(paths), unfinished or [])
        from paywitness.seamless.baseline import baseline_view

        verdict = judge(
            records,
            self.profile,
            meta={**self.meta(), **(extra_meta or {})},
            baseline=baseline_view(self.output, self.profile, records),
            classifier=classifier,
            unfinished=unfinished or (),
            control=control_records(self.output),
        )
        from paywitness.scope import apply_mode_scope

        apply_mode_scope(verdict)  # a witnessed run: what its mode cannot observe (no-op else)
        from paywitness.inventory import write_inventory

        write_inventory(self.output, records)
        (self.output / "verdict.json").write_text(
            json.dumps(verdict.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return verdict


@dataclass
class Outcomes:
    """How each test of the run ended (`passed`, `failed`, `error`, `skipped`)."""

    scenarios: dict[str, str] = field(default_factory=dict)
    #: Tests failed by their own findings: they completed, unlike a crash or a timeout.
    failed_on_findings: set[str] = field(default_factory=set)
    #: Outcome counts per `method · device · locale`.
    combinations: dict[str, dict[str, int]] = field(default_factory=dict)

    def unfinished(self) -> list[str]:
        return unfinished_of(self.scenarios, self.failed_on_findings)

    def meta(self) -> dict[str, Any]:
        return {
            "scenarios": dict(sorted(self.scenarios.items())),
            "combinations": self.combinations,
            "failed_on_findings": sorted(self.failed_on_findings),
        }


def set_aside_cut_short(records: list[FlowRecord], unfinished: list[str]) -> list[FlowRecord]:
    """A scenario cut short (a crash, a failure) gives no screen measurements: its page stopped
    mid-way, so its browser-side probe figures (vitals, timings, displays) are set aside. What
    crossed the wire and any canary it carried still count, and so does what the buyer was
    visibly put through before it stopped (a popup, a redirect, a prompt); a marker record per
    test tells the seamless analyser that the rest of it was not judged."""
    if not unfinished:
        return records
    from paywitness.seamless.figures import CUT_SHORT_PROBE, KEPT_WHEN_CUT_SHORT, series_of

    cut = set(unfinished)
    kept = [
        r
        for r in records
        if not (
            r.kind == "client"
            and series_of(r.test or "") in cut
            and "probe" in r.extra
            and r.extra.get("probe") != "request"  # coverage: what the browser asked for
            and r.extra.get("probe") not in KEPT_WHEN_CUT_SHORT
            and not r.canary_hits
        )
    ]
    tests = sorted({r.test for r in records if r.test and series_of(r.test) in cut})
    for test in tests:
        kept.append(
            FlowRecord(
                id=f"cut-short-{len(kept)}",
                kind="client",
                ts_start=0.0,
                ts_end=0.0,
                step="unlabelled",
                test=test,
                extra={"probe": CUT_SHORT_PROBE},
            )
        )
    return kept


def unfinished_of(outcomes: dict[str, str], failed_on_findings: Iterable[str]) -> list[str]:
    """Tests that errored, or failed other than on their own findings: not complete."""
    judged = set(failed_on_findings)
    return sorted(
        n for n, o in outcomes.items() if o == "error" or (o == "failed" and n not in judged)
    )


def judge_bundle(
    bundle: Path,
    profile: Profile,
    unfinished: list[str] | None = None,
    *,
    record: Path | None = None,
) -> Verdict:
    """Re-judge a stored bundle's ledgers offline (`record`: the re-judged record being written,
    which may hold a baseline lent after the run)."""
    paths = sorted(bundle.glob(LEDGER_GLOB))
    if not paths:
        raise ConfigError(f"{bundle} holds no ledger ({LEDGER_GLOB}); is it a paywitness bundle?")
    from paywitness.seamless.baseline import baseline_view

    records = set_aside_cut_short(read_ledgers(paths), unfinished or [])
    return judge(
        records,
        profile,
        baseline=baseline_view(bundle, profile, records, record=record),
        unfinished=unfinished or (),
        control=control_records(bundle),
    )


def control_records(folder: Path) -> list[FlowRecord]:
    """The control run's records in a run's folder (`--control`; none when it asked for none)."""
    from paywitness.analysers.control import CONTROL_LEDGER_GLOB

    return read_ledgers(sorted(folder.glob(CONTROL_LEDGER_GLOB)))
