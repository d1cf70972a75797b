"""The seamless part of `report.html`: each compared moment side by side (baseline, target)."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = ["screens_section", "waiver_lines"]

_THUMB_WIDTH = 320


def _data_uri(path: Path) -> str | None:
    """A small PNG of the picture as a data: URI (the report loads nothing from anywhere)."""
    try:
        with Image.open(path) as img:
            img.thumbnail((_THUMB_WIDTH, _THUMB_WIDTH * 4))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="PNG", optimize=True)
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(bundle: Path, rel: object, label: str) -> str:
    uri = _data_uri(bundle / str(rel)) if rel else None
    body = (
        f'<img src="{uri}" alt="{escape(label)}" style="max-width:100%;border:1px solid #d0d7de">'
        if uri
        else '<span class="muted">(missing)</span>'
    )
    return f"<td>{body}<br><code>{escape(str(rel or ''))}</code></td>"


def screens_section(bundle: Path, verdict: dict[str, Any]) -> str:
    """A table per compared moment: baseline | target | differences (empty if none compared)."""
    checks = ((verdict.get("categories") or {}).get("seamless") or {}).get("checks") or []
    screens = next((c for c in checks if c.get("id") == "seamless.screens"), None)
    figures = (screens or {}).get("figures") or {}
    if not figures:
        return ""
    rows = []
    for name, fig in sorted(figures.items()):
        if not isinstance(fig, dict):
            continue
        ratio = float(fig.get("ratio") or 0.0)
        over = ratio > float(fig.get("budget") or 0.0)
        rows.append(
            f"<tr><td><b>{escape(name)}</b><br>{ratio * 100:.2f}% differ"
            f"{' (over budget)' if over else ''}</td>"
            + _cell(bundle, fig.get("expected"), "baseline")
            + _cell(bundle, fig.get("actual"), "target")
            + _cell(bundle, fig.get("file"), "differences")
            + "</tr>"
        )
    return (
        "<section><h2>Screens: baseline and target side by side</h2>"
        '<p class="muted">Red in the third picture marks pixels that differ beyond the colour '
        "threshold; masked regions (order numbers, clocks) are painted over on both sides.</p>"
        "<table><tr><th>moment</th><th>baseline</th><th>target</th><th>differences</th></tr>"
        + "".join(rows)
        + "</table></section>"
    )


def waiver_lines(verdict: dict[str, Any]) -> list[str]:
    """`waiver: seamless.screens -- reason` for every waiver of the profile."""
    observed = ((verdict.get("categories") or {}).get("seamless") or {}).get("observed") or {}
    return [
        f"waiver: seamless.{w.get('check')} -- {w.get('reason')}"
        for w in observed.get("waivers") or []
    ]
