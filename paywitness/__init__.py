"""paywitness: proves a social-storefront purchase is paid for in a separate commerce back end.

The public API for your own scenarios; the pytest fixtures (`witness`, `buyer`, `card`,
`purchase`, `paywitness_profile`, `paywitness_seed`) come with the installed plugin.

PYTEST_DONT_REWRITE: the `paywitness` command imports this package before it starts pytest,
and the engine's own asserts need no rewritten messages (this marker keeps pytest from warning
that it cannot rewrite a module already imported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paywitness._version import __version__
from paywitness.errors import ConfigError, PaywitnessError, ProfileError
from paywitness.ledger import FlowRecord, LedgerWriter, read_ledger, read_ledgers

if TYPE_CHECKING:
    from paywitness.analysers import judge
    from paywitness.classify import Classifier, ServerIdentity
    from paywitness.flow import BuyerValues, PurchaseResult, run_actions, run_purchase
    from paywitness.inventory import build_inventory, diff_inventories
    from paywitness.profile import Profile, load_profile
    from paywitness.scenario import Purchase, buyer_values, plant_canaries
    from paywitness.verdict import Finding, Verdict
    from paywitness.witness import Witness, format_findings


# Heavy modules (Playwright, pydantic models) load on first use, not on `import paywitness`.
_LAZY = {
    "judge": "paywitness.analysers",
    "Classifier": "paywitness.classify",
    "ServerIdentity": "paywitness.classify",
    "BuyerValues": "paywitness.flow",
    "PurchaseResult": "paywitness.flow",
    "run_actions": "paywitness.flow",
    "run_purchase": "paywitness.flow",
    "build_inventory": "paywitness.inventory",
    "diff_inventories": "paywitness.inventory",
    "Profile": "paywitness.profile",
    "load_profile": "paywitness.profile",
    "Purchase": "paywitness.scenario",
    "buyer_values": "paywitness.scenario",
    "plant_canaries": "paywitness.scenario",
    "Finding": "paywitness.verdict",
    "Verdict": "paywitness.verdict",
    "Witness": "paywitness.witness",
    "format_findings": "paywitness.witness",
}

__all__ = [
    "BuyerValues",
    "Classifier",
    "ConfigError",
    "Finding",
    "FlowRecord",
    "LedgerWriter",
    "PaywitnessError",
    "Profile",
    "ProfileError",
    "Purchase",
    "PurchaseResult",
    "ServerIdentity",
    "Verdict",
    "Witness",
    "__version__",
    "build_inventory",
    "buyer_values",
    "diff_inventories",
    "format_findings",
    "judge",
    "load_profile",
    "plant_canaries",
    "read_ledger",
    "read_ledgers",
    "run_actions",
    "run_purchase",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paywitness' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
