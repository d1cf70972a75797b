"""report.html: self-contained, with the verdict, scorecard, timeline and findings."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import make_run


def test_report_is_self_contained(bundle: Path) -> None:
    html = (bundle / "report.html").read_text()
    # No resource may be fetched: no src/href to anything, no url(), no @import.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#)""", html)
    assert "url(" not in html.replace("url(#arrow)", "")
    assert "@import" not in html
    assert "default-src 'none'" in html


def test_report_shows_verdict_scorecard_and_a_sequence_diagram(bundle: Path) -> None:
    html = (bundle / "report.html").read_text()
    assert "migration progress" in html
    assert "<svg" in html
    for role in ("social", "commerce", "gateway"):
        assert f">{role}</text>" in html
    for step in ("browse", "checkout", "pay", "confirm"):
        assert f'font-weight="bold">{step}</text>' in html


def test_findings_are_shown_with_the_offending_url(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "bad"
    make_run(out, tmp_path, payment_host="api.social.test")
    html = (out / "report.html").read_text()
    assert "https://api.social.test/api/orders" in html
    assert ">fail</span>" in html
