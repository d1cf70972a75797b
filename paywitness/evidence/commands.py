"""`paywitness verify BUNDLE` and `paywitness report BUNDLE`."""

from __future__ import annotations

import argparse
from pathlib import Path

from paywitness.evidence.manifest import verify_bundle

__all__ = ["main", "report_command", "verify_command"]


def verify_command(bundle: Path) -> int:
    """Exit 0 if every file matches the manifest, 1 naming each difference."""
    result = verify_bundle(bundle)
    if result.intact:
        print(f"paywitness: {bundle}: intact ({result.checked} files match the manifest)")
        return 0
    print(f"paywitness: {bundle}: NOT intact")
    for line in result.lines():
        print(f"  {line}")
    return 1


def report_command(bundle: Path, profile: Path | None) -> int:
    """Re-judge the stored ledgers and re-render every report; exit code per verdict."""
    from paywitness.evidence.bundle import rejudge_bundle

    return rejudge_bundle(bundle, profile)


def main(ns: argparse.Namespace) -> int:
    bundle = Path(ns.bundle)
    if ns.command == "verify":
        return verify_command(bundle)
    return report_command(bundle, Path(ns.profile) if ns.profile else None)
