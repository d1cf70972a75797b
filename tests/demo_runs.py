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

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
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


class _Zygote:
    """This process's warm interpreter (tests/demo_zygote.py), which forks each demo run."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.broken: str | None = None

    def run(self, args: list[str], stdout: Path, stderr: Path, timeout: float) -> int | None:
        """The run's exit code (-1: timed out, killed); None when it could not be started here
        (the asker then starts it as a plain subprocess)."""
        if self.broken is not None:
            return None
        proc = self._started()
        assert proc.stdin is not None
        request = {"args": args, "stdout": str(stdout), "stderr": str(stderr)}
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            started = self._read(proc, 60.0)
        except (OSError, ValueError) as e:
            self._give_up(f"the warm interpreter is gone: {e}")
            return None
        if started is None or "pid" not in started:
            why = started.get("error") if started else "no answer"
            self._give_up(f"the warm interpreter did not start the run: {why}")
            return None
        ended = self._read(proc, timeout)
        if ended is None:  # still running: stopped as subprocess.run's timeout would
            with contextlib.suppress(OSError):
                os.kill(int(started["pid"]), signal.SIGKILL)
            self._read(proc, 30.0)  # its end, so the next request's answers line up
            return -1
        return int(ended["code"])

    def _started(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            path = os.pathsep.join(p for p in (str(_TESTS), os.environ.get("PYTHONPATH")) if p)
            # OpenBLAS (numpy, imported by paywitness) starts no thread of its own: the warm
            # interpreter must have only one when it forks.
            env = {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1"}
            self._proc = subprocess.Popen(
                [sys.executable, str(_TESTS / "demo_zygote.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        return self._proc

    @staticmethod
    def _read(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any] | None:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = proc.stdout.readline()
        if not line:
            raise ValueError("closed")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _give_up(self, why: str) -> None:
        self.broken = why
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


class DemoRuns:
    """Demo runs stored under `root`, each started once whichever process asks first.

    `warm`: start each run by forking a warm interpreter (tests/demo_zygote.py) instead of a new
    `python -m paywitness.cli` (the same run, without its 1.3 s of imports)."""

    def __init__(self, root: Path, *, warm: bool = False) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._zygote = _Zygote() if warm else None

    def close(self) -> None:
        """Stop the warm interpreter, if any."""
        if self._zygote is not None:
            self._zygote.close()

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

    def _run(self, args: tuple[str, ...], output: Path, result: Path) -> None:
        argv = ["demo", "--output", str(output), *args]
        warm = self._warm(argv, result) if self._zygote is not None else None
        if warm is not None:
            code, out, err = warm
        else:
            cmd = [sys.executable, "-m", "paywitness.cli", *argv]
            # tests/ on the path: a run may load a test helper plugin (-p cookie_journal).
            path = os.pathsep.join(p for p in (str(_TESTS), os.environ.get("PYTHONPATH")) if p)
            code, out, err = run_bounded(cmd, TIMEOUT_S, env={**os.environ, "PYTHONPATH": path})
        partial = result.with_suffix(".partial")
        partial.write_text(
            json.dumps({"returncode": code, "stdout": out, "stderr": err}), encoding="utf-8"
        )
        os.replace(partial, result)  # readers see the whole result or none

    def _warm(self, argv: list[str], result: Path) -> tuple[int, str, str] | None:
        """The run started by the warm interpreter: (exit code, output, errors), or None."""
        assert self._zygote is not None
        stdout, stderr = result.with_suffix(".stdout"), result.with_suffix(".stderr")
        code = self._zygote.run(argv, stdout, stderr, TIMEOUT_S)
        if code is None:
            return None
        out = stdout.read_text(encoding="utf-8", errors="replace")
        err = stderr.read_text(encoding="utf-8", errors="replace")
        if code == -1:
            err += f"\ntimed out after {TIMEOUT_S:g} s"
        return code, out, err
