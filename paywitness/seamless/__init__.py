"""Seamlessness: what the buyer's browser saw while the purchase crossed companies."""

from __future__ import annotations

__all__: list[str] = []
