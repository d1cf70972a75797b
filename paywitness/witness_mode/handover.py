"""The end of a witnessed run: the verdict scoped to its mode, and what the person gets."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from paywitness.verdict import Verdict

__all__ = ["final_text", "verify_command", "write_scoped_verdict"]

_RULE = "=" * 72


def write_scoped_verdict(output: Path, verdict: Verdict, mode: str) -> None:
    """Apply the mode's scope (see `scope`) and store the verdict as the bundle's verdict.json."""
    from paywitness.witness_mode.scope import apply_scope

    apply_scope(verdict, mode)
    (output / "verdict.json").write_text(
        json.dumps(verdict.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def verify_command(output: Path) -> str:
    """The one command that checks the bundle's integrity."""
    return f"paywitness verify {shlex.quote(str(output))}"


def final_text(verdict: Verdict, card: dict[str, Any] | None, code: int, output: Path) -> str:
    """The verdict block, printed last and alone: table, scorecard, scope, report, verify."""
    from paywitness.evidence.scorecard import scorecard_table
    from paywitness.report_text import verdict_table

    lines = ["", _RULE, verdict_table(verdict)]  # its reasons state the mode's scope
    if card is not None:
        lines.append(scorecard_table(card))
    report = output / "report.html"
    if report.is_file():
        lines.append(f"report: {report}")
    lines.append(f"check the evidence: {verify_command(output)}")
    lines.append(f"paywitness: verdict {verdict.verdict} (exit {code}); evidence in {output}")
    return "\n".join(lines)
