"""False alarms of the seamless rule: the demo judged against itself (A/A), N times.

Run: ``python -m benchmarks.seamless_aa [--runs 20] [--repeat 3] [--output DIR]``.

Each run is ``paywitness demo -k seamless --baseline-profile fixtures/profiles/demo.yaml
--repeat 3``: the live baseline is the very same (compliant) demo shop, replayed interleaved with
the target (old, new, new, old, ...), so any seamless failure is a false alarm. A control run of
``--violation slow-handoff`` against the same baseline must still fail. Prints per run the
seamless gate and the failing checks, then the false-alarm rate with its 95% upper bound; the
numbers go into docs/seamless.md by hand. Long (about a minute per run on a quiet 2-core
machine): not part of CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import load_average

__all__ = ["main", "one_run"]

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "fixtures" / "profiles" / "demo.yaml"


def one_run(
    output: Path, repeat: int, *extra: str, live: bool = True
) -> tuple[str, list[str], float]:
    """(seamless gate, failing check summaries, seconds) of one run (A/A when `live`)."""
    baseline = ["--baseline-profile", str(PROFILE)] if live else []
    cmd = [
        sys.executable,
        "-m",
        "paywitness.cli",
        "demo",
        "-k",
        "seamless",
        *baseline,
        "--repeat",
        str(repeat),
        "--output",
        str(output),
        "-q",
        *extra,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=1800)
    seconds = time.perf_counter() - start
    verdict_file = output / "verdict.json"
    if not verdict_file.is_file():
        return "no verdict", [], seconds
    seamless = json.loads(verdict_file.read_text(encoding="utf-8"))["categories"]["seamless"]
    checks = seamless["checks"]
    failing = [f"{c['id']}: {c['summary'][:300]}" for c in checks if c["status"] == "fail"]
    return str(seamless["status"]), failing, seconds


def _upper95(failures: int, runs: int) -> float:
    """One-sided 95% upper bound of a rate from `failures` in `runs` (exact, Clopper-Pearson)."""
    if failures >= runs:
        return 1.0
    lo, hi = failures / runs, 1.0
    from math import comb

    def tail(p: float) -> float:  # P(X <= failures) under rate p
        return sum(comb(runs, k) * p**k * (1 - p) ** (runs - k) for k in range(failures + 1))

    for _ in range(60):
        mid = (lo + hi) / 2
        if tail(mid) > 0.05:
            lo = mid
        else:
            hi = mid
    return hi


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=20, help="A/A runs (default 20)")
    p.add_argument("--repeat", type=int, default=3, help="Repeats a side (default 3)")
    p.add_argument("--output", type=Path, help="Keep the bundles here (default: a temp folder)")
    p.add_argument("--no-control", action="store_true", help="Skip the slow-handoff control run")
    ns = p.parse_args(argv)
    base = ns.output or Path(tempfile.mkdtemp(prefix="paywitness-aa-"))
    print(f"load before: {load_average()}")
    alarms = 0
    total = 0.0
    for i in range(1, ns.runs + 1):
        gate, failing, seconds = one_run(base / f"aa-{i:02d}", ns.repeat)
        total += seconds
        alarms += gate == "fail"
        print(f"run {i:2d}: seamless {gate:<12} {seconds:6.1f} s", flush=True)
        for line in failing:
            print(f"         {line}")
    rate = alarms / ns.runs
    print(
        f"false alarms: {alarms}/{ns.runs} = {rate:.0%} (95% upper bound "
        f"{_upper95(alarms, ns.runs):.0%}); {total / ns.runs:.0f} s per run; load after: "
        f"{load_average()}"
    )
    if not ns.no_control:
        # The violation changes the demo shop for both sides of a live replay, so the control
        # is judged against the demo's own pre-migration replay.
        control = base / "control-slow-handoff"
        gate, failing, _ = one_run(control, ns.repeat, "--violation", "slow-handoff", live=False)
        print(f"control --violation slow-handoff: seamless {gate}")
        for line in failing:
            print(f"         {line}")
        if gate != "fail":
            return 1
    print(f"bundles in {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
