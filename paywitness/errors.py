"""The one exception hierarchy of paywitness."""

from __future__ import annotations

__all__ = ["ConfigError", "EvidenceError", "PaywitnessError", "ProfileError"]


class PaywitnessError(Exception):
    """Base of every error paywitness raises on purpose."""


class ConfigError(PaywitnessError):
    """Bad input from the user (option, path, port, browser): exit code 2, no traceback."""


class ProfileError(ConfigError):
    """A target profile that cannot be loaded or does not validate."""


class EvidenceError(PaywitnessError):
    """Evidence that fails its checks (a tampered bundle, a bad signature): exit code 1."""
