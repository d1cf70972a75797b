"""The evidence bundle: manifest, HAR, screenshots and trace, scorecard, reports, redaction."""

from __future__ import annotations

__all__: list[str] = []
