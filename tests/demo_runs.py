"""One cache of `paywitness demo` runs per test session, keyed by the run's options.

A demo run costs a Chromium, a proxy and a demo shop for a minute; many tests only assert on the
evidence a run leaves. Each distinct run is started once per `pytest` invocation and read by every
test that needs it, in every xdist worker: the first worker to ask runs it under a file lock, the
others wait on the lock and read the stored result. The detection matrix's runs are entries like
any other, so the tests about one violation's bundle reuse the matrix's run of it.

The bundles are shared: a test reads them, and copies one before changing anything in it.

The run whose seamless timings must pass (the compliant full run, which is also the matrix's
compliant row) runs alone among the cached runs: the other worker's demo runs wait for it, and
it waits for the other worker's current run to end. A cross-site checkout frame costs a
renderer of its own, and with two browsers on two cores that cost grew to 195 ms at the buy
tap, a real but self-inflicted difference (see docs/seamless.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paywitness.matrix import COMPLIANT, demo_args

__all__ = [
    "COMPLIANT_FULL",
    "MATRIX_SEED",
    "TEST_SIGNING_KEY",
    "DemoRun",
    "DemoRuns",
    "log_time",
    "run_bounded",
    "unjudged_only_for_want_of_a_baseline",
]

_TESTS = Path(__file__).resolve().parent
# A throw-away Ed25519 key for signing test bundles (`paywitness keys init`); never a real one.
TEST_SIGNING_KEY = _TESTS / "demo-signing.key"
# The seed `paywitness matrix` runs with (run_matrix's default; a unit test pins the two together).
MATRIX_SEED = 1
# The whole demo suite paid by card, the run the CLI, bundle and data tests all assert on: the
# detection matrix's compliant row, signed, with the shop's cookies journalled beside the bundle
# for the leak test (tests/cookie_journal.py). Signing and the journal judge nothing, so the
# matrix tests read this run as their compliant row instead of making the same purchases again.
COMPLIANT_FULL = (
    *demo_args(COMPLIANT, MATRIX_SEED),
    "--sign",
    str(TEST_SIGNING_KEY),
    "-p",
    "cookie_journal",
    "--cookie-journal=beside-output",
)
# A stuck run fails its tests after this long instead of hanging the session.
TIMEOUT_S = 600


def unjudged_only_for_want_of_a_baseline(verdict: dict[str, Any]) -> bool:
    """A routing-only demo run (`-k paid_in_commerce`): everything passed but what needs a baseline.

    The built-in pre-migration replay runs with the seamless scenario only, and the demo profile
    sets no absolute limits, so such a run leaves some seamless checks not judged; that keeps it
    `inconclusive` (never a silent pass), and it must be for no other reason.
    """
    if verdict["verdict"] != "inconclusive" or not verdict["reasons"]:
        return False
    for name, category in verdict["categories"].items():
        if name != "seamless" and category["status"] not in ("pass", "not_judged"):
            return False
    return all(r.startswith("seamless: ") and " not judged" in r for r in verdict["reasons"])


def log_time(root: Path, what: str, waited_s: float, started: float) -> None:
    """One line of `root/timings.jsonl`: what a cached run cost and how long its asker waited
    for the lock first (the suite's own record of where its minutes go)."""
    line = {
        "what": what,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "waited_s": round(waited_s, 2),
        "ran_s": round(time.monotonic() - started, 2),
    }
    with (root / "timings.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def run_bounded(cmd: list[str], timeout: float, **kwargs: Any) -> tuple[int, str, str]:
    """Exit code, output and errors of `cmd`; one that runs past `timeout` seconds gives -1
    and says so, stored like any result: every test needing it fails saying so, none reruns
    it."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as e:
        raw = e.stdout or ""
        out = raw if isinstance(raw, str) else raw.decode(errors="replace")
        return -1, out, f"timed out after {timeout:g} s"
    return done.returncode, done.stdout, done.stderr


@dataclass(frozen=True)
class DemoRun:
    """A finished `paywitness demo` run: its options, exit code, output and evidence folder."""

    args: tuple[str, ...]
    output: Path
    returncode: int
    stdout: str
    stderr: str

    def verdict(self) -> dict[str, Any]:
        """The run's verdict.json (the assertion names the run when there is none)."""
        path = self.output / "verdict.json"
        assert path.is_file(), f"no verdict from `demo {' '.join(self.args)}`\n{self.tail}"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def scenario_seed(self, test: str) -> int:
        """One scenario's seed, recomputed independently the way the plugin derives it."""
        run_seed = int(self.verdict()["meta"]["seed"])
        return (run_seed * 1_000_003 + zlib.crc32(test.encode())) % 2**31

    @property
    def cookie_journal(self) -> Path:
        """The cookies the shop set, journalled beside the bundle (runs with cookie_journal)."""
        return self.output.with_name(self.output.name + ".cookies.jsonl")

    @property
    def tail(self) -> str:
        """The end of the run's output, for assertion messages."""
        return f"exit {self.returncode}\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"


class DemoRuns:
    """Demo runs stored under `root`, each started once whichever process asks first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def get(self, *args: str) -> DemoRun:
        """The run of `paywitness demo --output DIR *args`, started now if no one has yet."""
        key = hashlib.sha256("\0".join(args).encode()).hexdigest()[:16]
        # A folder of its own around each bundle: a run keeps its history file beside its output.
        output = self.root / key / "bundle"
        result = self.root / f"{key}.json"
        asked = time.monotonic()
        with (self.root / f"{key}.lock").open("a") as lock:
            # Blocks while another worker runs the same options; it then finds the result.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not result.is_file():
                with self._alone(self.timed(args)):
                    started = time.monotonic()
                    self._run(args, output, result)
                log_time(self.root, "demo " + " ".join(args), started - asked, started)
        stored = json.loads(result.read_text(encoding="utf-8"))
        return DemoRun(args, output, stored["returncode"], stored["stdout"], stored["stderr"])

    @staticmethod
    def timed(args: tuple[str, ...]) -> bool:
        """Whether these are the options of a run whose seamless timings must pass."""
        return args == COMPLIANT_FULL

    def matrix(self, violation: str) -> DemoRun:
        """The detection matrix's run of one row (`paywitness.matrix.COMPLIANT` or a violation)."""
        if violation == COMPLIANT:
            return self.get(*COMPLIANT_FULL)
        return self.get(*demo_args(violation, MATRIX_SEED))

    def alone(self) -> AbstractContextManager[None]:
        """Held around other timed work (the guide's baseline comparisons): no demo run runs."""
        return self._alone(True)

    @contextmanager
    def _alone(self, timed: bool) -> Iterator[None]:
        """A timed run holds the runs' lock alone; any other holds it shared. A timed run that
        waits raises a flag first, so the other worker's next run waits for it (no starving)."""
        want = self.root / "timed.want"
        with (self.root / "runs.lock").open("a") as lock:
            if timed:
                want.touch()
                fcntl.flock(lock, fcntl.LOCK_EX)
                want.unlink(missing_ok=True)
            else:
                deadline = time.monotonic() + TIMEOUT_S
                while want.exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
                fcntl.flock(lock, fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _run(args: tuple[str, ...], output: Path, result: Path) -> None:
        cmd = [sys.executable, "-m", "paywitness.cli", "demo", "--output", str(output), *args]
        # tests/ on the path: a run may load a test helper plugin (-p cookie_journal).
        path = os.pathsep.join(p for p in (str(_TESTS), os.environ.get("PYTHONPATH")) if p)
        code, out, err = run_bounded(cmd, TIMEOUT_S, env={**os.environ, "PYTHONPATH": path})
        partial = result.with_suffix(".partial")
        partial.write_text(
            json.dumps({"returncode": code, "stdout": out, "stderr": err}), encoding="utf-8"
        )
        os.replace(partial, result)  # readers see the whole result or none
