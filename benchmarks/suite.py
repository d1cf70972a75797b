"""The suite itself: ``paywitness demo -n 2`` vs ``-n 1``, and ``make demo`` end to end.

Run: ``python -m benchmarks.suite [--quick] [--rounds N]``. Every run is a fresh process, as a
user or CI starts it; wall-clock seconds, interleaved -n 1 / -n 2 runs, medians.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._common import Figure, Part, interleaved, load_average, paired_ratio, print_parts

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
_RUN_TIMEOUT = 300


def _demo(output: Path, workers: int | None) -> int:
    args = [str(Path(sys.executable).parent / "paywitness"), "demo", "--output", str(output)]
    if workers is not None:
        args += ["-n", str(workers)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=False)
    return _verdict_code(args, done.returncode, done.stdout)


def _not_passed(output: Path, code: int) -> str:
    """The checks that kept a run from passing (`id status`), read from its verdict: failed ones
    for exit 1, unjudged ones too for exit 3. A compliant run that does not pass is a false
    alarm, and the notes say which check raised it."""
    shown = ("fail",) if code == 1 else ("fail", "inconclusive", "not_judged")
    try:
        verdict = json.loads((output / "verdict.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no verdict.json"
    return ", ".join(
        f"{c['id']} {c['status']}"
        for category in verdict.get("categories", {}).values()
        for c in category.get("checks", [])
        if c.get("status") in shown
    )


def _verdict_code(args: Sequence[str], code: int, stdout: str) -> int:
    """A verdict's exit code (0 pass, 1 fail, 3 inconclusive): a complete run whose time counts
    (the notes say how each ended); anything else stops the benchmark."""
    if code not in (0, 1, 3):
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{stdout[-2000:]}")
    return code


def _make_demo() -> int:
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "demo"],
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )
    # make turns any failing recipe into its own exit 2: the demo's code is in its last line.
    said = re.findall(r"paywitness: verdict \w+ \(exit (\d+)\)", done.stdout)
    if not said:
        raise RuntimeError(f"make demo exited {done.returncode}:\n{done.stdout[-2000:]}")
    return _verdict_code(["make", "demo"], int(said[-1]), done.stdout)


def run(quick: bool = False, rounds: int | None = None, make_runs: int | None = None) -> list[Part]:
    rounds = rounds or (1 if quick else 5)
    make_runs = make_runs or 1
    exits: list[int] = []
    not_passed: list[str] = []  # "-n 2 round 3: seamless.timing fail", one a run that did not pass
    parallel = Part("Parallel: paywitness demo -n 2 vs -n 1 (full demo suite, 5 payment methods)")
    make = Part("make demo end to end")
    with tempfile.TemporaryDirectory(prefix="paywitness-bench-suite-") as tmp:
        root = Path(tmp)
        parallel.load_before = load_average()
        t0 = time.perf_counter()

        def demo(name: str, workers: int) -> Callable[[int], None]:
            def one(r: int) -> None:
                output = root / f"n{workers}-{r}"
                exits.append(_demo(output, workers))
                if exits[-1] != 0:
                    not_passed.append(f"{name} round {r}: {_not_passed(output, exits[-1])}")

            return one

        times = interleaved({"-n 1": demo("-n 1", 1), "-n 2": demo("-n 2", 2)}, rounds)
        parallel.seconds = time.perf_counter() - t0
        parallel.load_after = load_average()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = paired_ratio(times, "-n 2", "-n 1")
    parallel.figures += [
        Figure("paywitness demo -n 1, median", med["-n 1"], "s"),
        Figure("paywitness demo -n 2, median", med["-n 2"], "s"),
        Figure("-n 2 / -n 1 wall clock", ratio, "x", detail="below 1: -n 2 is faster"),
    ]
    parallel.notes.append(
        f"{rounds} interleaved rounds; exit codes {' '.join(map(str, exits))}; all runs (s): "
        + "; ".join(f"{k} " + " ".join(f"{x:.1f}" for x in v) for k, v in times.items())
    )
    if not_passed:
        parallel.notes.append("runs that did not pass, and their checks: " + "; ".join(not_passed))
    make.load_before = load_average()
    t0 = time.perf_counter()
    make_times, make_exits = [], []
    for _ in range(make_runs):
        t1 = time.perf_counter()
        make_exits.append(_make_demo())
        make_times.append(time.perf_counter() - t1)
    make.seconds = time.perf_counter() - t0
    make.load_after = load_average()
    make_s = statistics.median(make_times)
    make.figures.append(
        Figure(
            "make demo (set up already done), median",
            make_s,
            "s",
            target="< 90 s",
            met=make_s < 90,
        )
    )
    make.notes.append(
        "make demo runs the suite serially (no xdist); "
        f"{make_runs} run(s) (s): {' '.join(f'{x:.1f}' for x in make_times)}, exit codes "
        f"{' '.join(map(str, make_exits))}; includes the Allure "
        "report when npm is present"
    )
    return [parallel, make]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="One run of each")
    ap.add_argument("--rounds", type=int, help="Interleaved rounds of -n 1 / -n 2")
    ns = ap.parse_args(argv)
    print_parts(run(ns.quick, ns.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
