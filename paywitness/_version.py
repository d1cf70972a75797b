"""The package version (a leaf: any layer may read it without importing the package API)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
