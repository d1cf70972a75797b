"""The end of a witnessed run: what the person gets (the verdict block, report, verify)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paywitness.verdict import Verdict

if TYPE_CHECKING:
    from paywitness.profile import RegulationClause

__all__ = ["final_text", "verify_command"]

_RULE = "=" * 72


def verify_command(output: Path) -> str:
    """The one command that checks the bundle's integrity."""
    return f"paywitness verify {shlex.quote(str(output))}"


def final_text(
    verdict: Verdict,
    card: dict[str, Any] | None,
    code: int,
    output: Path,
    regulation: Mapping[str, RegulationClause] | None = None,
    *,
    signed_by: str | None = None,
) -> str:
    """The verdict block, printed last and alone: table, scorecard, scope, report, the
    signer's key fingerprint (when signed), verify."""
    from paywitness.evidence.scorecard import scorecard_table
    from paywitness.report_text import verdict_table

    lines = ["", _RULE, verdict_table(verdict, regulation)]  # its reasons state the mode's scope
    if card is not None:
        lines.append(scorecard_table(card))
    report = output / "report.html"
    if report.is_file():
        lines.append(f"report: {report}")
    if signed_by is not None:
        lines.append(f"signed: manifest signed at Finish by key {signed_by}")
    lines.append(f"check the evidence: {verify_command(output)}")
    lines.append(f"paywitness: verdict {verdict.verdict} (exit {code}); evidence in {output}")
    return "\n".join(lines)
