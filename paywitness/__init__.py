"""paywitness: proves a social-storefront purchase is paid for in a separate commerce back end."""

from __future__ import annotations

from paywitness.errors import ConfigError, PaywitnessError, ProfileError
from paywitness.ledger import FlowRecord, LedgerWriter, read_ledger, read_ledgers

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FlowRecord",
    "LedgerWriter",
    "PaywitnessError",
    "ProfileError",
    "__version__",
    "read_ledger",
    "read_ledgers",
]
