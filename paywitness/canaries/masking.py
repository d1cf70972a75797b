"""Masking built on the scanner: every canary form and every card-like digit run replaced by
a marker that names the kind (never the value)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from paywitness.buyers import luhn_valid

__all__ = ["SpanFinder", "card_spans", "merge_spans", "redact_with", "render_spans"]


class SpanFinder(Protocol):
    """What masking needs of a scanner: where its canaries are in some bytes, and their labels."""

    def canary_spans(self, data: bytes) -> list[tuple[int, int, str]]: ...


_DIGIT_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def card_spans(data: bytes) -> list[tuple[int, int, str]]:
    """Every Luhn-valid 13-19 digit run: masked whether or not it is a planted card."""
    return [
        (m.start(), m.end(), "[masked:card-like]")
        for m in _DIGIT_RUN.finditer(data)
        if luhn_valid(m.group().decode("ascii"))
    ]


def merge_spans(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping and adjacent mask spans joined into one (two markers side by side would
    show where one value ends); the one starting first (the longest there) names it."""
    spans = sorted(spans, key=lambda sp: (sp[0], -sp[1]))
    merged: list[tuple[int, int, str]] = []
    for s, e, label in spans:
        if merged and s <= merged[-1][1]:
            ps, pe, plabel = merged[-1]
            merged[-1] = (ps, max(pe, e), plabel)
        else:
            merged.append((s, e, label))
    return merged


def redact_with(scanners: Sequence[SpanFinder], text: str) -> str:
    """``text`` masked once for the canaries of several scanners together (and card-like
    digit runs): spans from all of them are merged on the original text, so one scanner's
    mask never hides another's canary from it."""
    data = text.encode("utf-8")
    spans = [sp for scanner in scanners for sp in scanner.canary_spans(data)]
    spans += card_spans(data)  # after: on a tie the canary names the span
    return render_spans(data, 0, len(data), merge_spans(spans))


def render_spans(data: bytes, lo: int, hi: int, spans: Iterable[tuple[int, int, str]]) -> str:
    """``data[lo:hi]`` as text with each (start, end, label) span replaced by its label."""
    parts: list[str] = []
    pos = lo
    for s, e, label in spans:
        if e <= lo or s >= hi:
            continue
        if s > pos:
            parts.append(data[pos:s].decode("utf-8", "replace"))
        parts.append(label)
        pos = max(pos, e)
    if pos < hi:
        parts.append(data[pos:hi].decode("utf-8", "replace"))
    return "".join(parts)
