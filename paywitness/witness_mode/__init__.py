"""`paywitness witness`: a person pays by hand (browser or phone) while paywitness records."""

from __future__ import annotations

from paywitness.witness_mode.session import STEPS, WitnessOptions, WitnessSession

__all__ = ["STEPS", "WitnessOptions", "WitnessSession"]
