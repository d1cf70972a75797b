"""Canary values and the leak scanner: every encoded form, searched in one multi-pattern pass.

The package is layered: ``values`` (the planted values of a run), ``variants`` (every form a
value can take on the wire), ``decoding`` (what observed bytes say under each wire encoding),
``scanner`` (one key per variant, all found in one pass over the decoded layers) and
``masking`` (markers in place of every form the scanner finds). Everything public is
importable from ``paywitness.canaries``.
"""

from __future__ import annotations

from paywitness.canaries.masking import card_spans, merge_spans, redact_with
from paywitness.canaries.scanner import CanaryHit, CanaryScanner
from paywitness.canaries.values import CANARY_KINDS, Canary, CanaryKind, CanarySet, new_salt
from paywitness.canaries.variants import Variant, build_variants, murmur3_32

__all__ = [
    "CANARY_KINDS",
    "Canary",
    "CanaryHit",
    "CanaryKind",
    "CanaryScanner",
    "CanarySet",
    "Variant",
    "build_variants",
    "card_spans",
    "merge_spans",
    "murmur3_32",
    "new_salt",
    "redact_with",
]
