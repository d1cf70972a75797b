"""The leak scanner: every canary variant found in observed data, through the wire encodings.

What is observed on the wire is decoded (see ``decoding``) up to ``max_depth`` layers; every
layer is searched, all views together in one multi-pattern pass: each variant has a short key,
and the keys are found by a vectorised hash filter (large inputs) or an Aho-Corasick automaton
(small ones), which give the same key occurrences in the same order.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import ahocorasick
import numpy as np
import numpy.typing as npt

from paywitness.canaries.decoding import (
    MAX_VIEWS,
    View,
    decode_children,
    describe,
    encoding_chain,
)
from paywitness.canaries.masking import card_spans, merge_spans, redact_with, render_spans
from paywitness.canaries.values import SPLIT_KINDS, Canary, CanarySet
from paywitness.canaries.variants import (
    HASHED_KEY_CAP,
    KEY_CAP,
    MIN_KEY,
    SHORT_TOKEN,
    Variant,
    indexed_variants,
)

__all__ = ["CanaryHit", "CanaryScanner"]


@dataclass(frozen=True, slots=True)
class CanaryHit:
    """One canary found in observed data; carries no raw canary value."""

    kind: str
    chain: str
    decoding: str
    location: str
    partial: bool
    canary_hash: str
    excerpt: str
    encoding: str = ""
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Rarest first in web traffic: an automaton key starts at the rarest byte of its pattern, so
# the root has few children and the automaton rarely leaves it (pyahocorasick looks children
# up linearly; this keeps the raw pass near its single-pattern speed).
_ANCHOR_ORDER = b"@%#&;=+~^|!$*<>[]{}\\`?:()'\"\t\r\nqzjxkvwyfb976843g5hcumpdl20r1noitsae/_,.- "
_ANCHOR_RANK = [len(_ANCHOR_ORDER) // 2] * 256
for _rank, _byte in enumerate(_ANCHOR_ORDER):
    _ANCHOR_RANK[_byte] = _rank
_RANK_BYTES = bytes(_ANCHOR_RANK)  # bytes.translate table: each byte to its rank
_KEY_LEN = 8
_KEY_VARIED = 4  # distinct bytes a key should have


def _pick_key(region: bytes) -> tuple[int, bytes]:
    """(offset, key): the key is the slice of ``region`` that starts at its rarest byte, among
    the slices not made mostly of one repeated byte. A masked card number
    (``xxxxxxxxxxxx4242``) keyed on its run of ``x`` would match at every byte of a page that
    draws such runs (masked numbers, placeholders), each match then verified in Python."""
    size = len(region)
    klen = _KEY_LEN if size >= _KEY_LEN + 3 else max(MIN_KEY, size - 3)
    klen = min(klen, size)
    ranks = region[: size - klen + 1].translate(_RANK_BYTES)
    best = ranks.index(min(ranks))  # the first start at the rarest byte
    varied = min(klen, _KEY_VARIED)
    if len(set(region[best : best + klen])) >= varied:
        return best, region[best : best + klen]
    starts = sorted(range(len(ranks)), key=ranks.__getitem__)  # rarest first, stable
    fallback, most = starts[0], 0
    for i in starts:
        distinct = len(set(region[i : i + klen]))
        if distinct >= varied:
            return i, region[i : i + klen]
        if distinct > most:
            fallback, most = i, distinct
    return fallback, region[fallback : fallback + klen]


# The key filter for large inputs: every 4-byte window of the input is hashed into a table of
# the keys' first four bytes (one vectorised pass, a few ns a byte); the few windows that pass
# are compared with the whole keys. pyahocorasick walks its trie a character at a time (about
# 40 MB/s with ten thousand keys); under this size its lower fixed cost wins.
_FILTER_MIN = 2048
_GRAM_BITS = 18
_GRAM_MUL = np.uint32(2654435761)  # Knuth's multiplicative hash: the top bits are the index
_GRAM_SHIFT = np.uint32(32 - _GRAM_BITS)


@dataclass(frozen=True, slots=True)
class _KeyFilter:
    """The automaton's keys by length, behind one table of hashed 4-grams: bit 1 some 8-byte
    key starts so, bit 2 some 8-byte key has them as its bytes 4..7, bit 4 some shorter key
    starts so (one small table: it stays in the CPU cache)."""

    grams: npt.NDArray[np.uint8]
    by_len: tuple[tuple[int, dict[bytes, int]], ...]  # longest first

    @classmethod
    def build(cls, keys: list[bytes]) -> _KeyFilter | None:
        if not keys or min(map(len, keys)) < 4 or max(map(len, keys)) > 8:
            return None  # every key is 4..8 bytes today; anything else uses the automaton
        grams = np.zeros(1 << _GRAM_BITS, dtype=np.uint8)
        for bit, parts in (
            (1, [k[:4] for k in keys if len(k) == 8]),
            (2, [k[4:] for k in keys if len(k) == 8]),
            (4, [k[:4] for k in keys if len(k) < 8]),
        ):
            values = np.array([int.from_bytes(g, "little") for g in parts], dtype=np.uint32)
            grams[(values * _GRAM_MUL) >> _GRAM_SHIFT] |= bit
        by_len = tuple(
            (size, {k: gid for gid, k in enumerate(keys) if len(k) == size})
            for size in sorted({len(k) for k in keys}, reverse=True)
        )
        return cls(grams, by_len)

    def find(self, low: bytes) -> list[tuple[int, int]]:
        """(end, key id) of every key occurrence in ``low``, ordered as the automaton's
        ``iter`` gives them: by end, the longest key first."""
        size = len(low)
        if size < 4:
            return []
        padded = low + bytes(8)
        # The hash of the 4 bytes at every position (past the end too: the tail test below
        # looks 4 bytes on; the zero padding there is never part of a key found).
        grams = np.ndarray((size + 4,), "<u4", padded, 0, (1,)).copy()
        np.multiply(grams, _GRAM_MUL, out=grams)
        np.right_shift(grams, _GRAM_SHIFT, out=grams)
        flags = self.grams.take(grams)
        here = flags[: size - 3]
        # An 8-byte key's two halves, or a shorter key's first 4 bytes.
        maybe = (here & (flags[4 : size + 1] >> 1)) | (here >> 2)
        starts = np.flatnonzero(maybe & 1)
        # Few positions are left (tens in 10 KB): each is looked up in Python.
        found: list[tuple[int, int, int]] = []
        for start in starts.tolist():
            for klen, table in self.by_len:
                gid = table.get(low[start : start + klen]) if start + klen <= size else None
                if gid is not None:
                    found.append((start + klen - 1, -klen, gid))
        found.sort()
        return [(end, gid) for end, _neg, gid in found]


@dataclass(slots=True)
class _Match:
    variant: int
    start: int
    end: int


_TOKEN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_SEP = b"\x00"


@dataclass(frozen=True, slots=True)
class _Compiled:
    """What a scanner searches with: built once per (canaries, salt)."""

    variants: list[Variant]
    hashes: list[str]
    kinds: list[str]
    patterns: list[bytes]
    patterns_low: list[bytes]
    need: list[int]
    groups: list[tuple[int, tuple[tuple[int, int], ...]]]
    automaton: Any
    key_filter: _KeyFilter | None
    max_pattern: int


@dataclass(frozen=True, slots=True)
class _Keyed:
    """One canary's variant patterns and automaton keys: independent of its index in a set."""

    patterns: tuple[bytes, ...]
    patterns_low: tuple[bytes, ...]
    need: tuple[int, ...]
    keys: tuple[tuple[int, str], ...]  # (offset in the pattern, automaton key)


@functools.lru_cache(maxsize=1024)
def _keyed(canary: Canary) -> _Keyed:
    # Built once per value: merging a run's scanners (redaction.py) compiles the same canaries
    # again, and picking the keys was the largest part of a rebuild.
    variants = indexed_variants(canary, 0)
    patterns = tuple(v.pattern.encode("utf-8") for v in variants)
    low = tuple(p.lower() for p in patterns)
    need = tuple(
        min(len(p), HASHED_KEY_CAP if v.hashed else KEY_CAP)
        for v, p in zip(variants, patterns, strict=True)
    )
    keys = []
    for pattern_low, n in zip(low, need, strict=True):
        offset, key_bytes = _pick_key(pattern_low[:n])
        keys.append((offset, key_bytes.decode("latin-1")))
    return _Keyed(patterns, low, need, tuple(keys))


@functools.lru_cache(maxsize=64)
def _compile(canaries: tuple[Canary, ...], salt: bytes) -> _Compiled:
    canary_set = CanarySet(canaries, salt)
    variants: list[Variant] = []
    patterns: list[bytes] = []
    patterns_low: list[bytes] = []
    need: list[int] = []
    by_key: dict[str, list[tuple[int, int]]] = {}
    for index, canary in enumerate(canaries):
        keyed = _keyed(canary)
        base = len(variants)
        variants += indexed_variants(canary, index)
        patterns += keyed.patterns
        patterns_low += keyed.patterns_low
        need += keyed.need
        for i, (offset, key) in enumerate(keyed.keys, base):
            by_key.setdefault(key, []).append((i, offset))
    groups: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    automaton = ahocorasick.Automaton()
    for key, members in by_key.items():
        automaton.add_word(key, len(groups))
        groups.append((len(key), tuple(members)))
    automaton.make_automaton()
    key_filter = _KeyFilter.build([key.encode("latin-1") for key in by_key])
    return _Compiled(
        variants,
        [canary_set.salted_hash(c.value) for c in canaries],
        [c.kind for c in canaries],
        patterns,
        patterns_low,
        need,
        groups,
        automaton,
        key_filter,
        max(need, default=0),
    )


class CanaryScanner:
    """Finds every canary variant in observed data, through the wire encodings."""

    def __init__(self, canary_set: CanarySet, *, max_depth: int = 3) -> None:
        self.canary_set = canary_set
        self.max_depth = max_depth
        # The variants and the automaton are built once per canary values and salt, shared by
        # every scanner of those canaries (the redactor's and the proxy's canary watch).
        compiled = _compile(canary_set.canaries, canary_set.salt)
        self.variants = compiled.variants
        self._hashes = compiled.hashes
        self._kinds = compiled.kinds
        self._patterns = compiled.patterns
        self._patterns_low = compiled.patterns_low
        self._need = compiled.need
        self._groups = compiled.groups
        self._automaton = compiled.automaton
        self._key_filter = compiled.key_filter
        self.max_pattern = compiled.max_pattern

    @property
    def pattern_count(self) -> int:
        """Distinct automaton keys (variants sharing a key are told apart on verification)."""
        return len(self._groups)

    # ---------------------------------------------------------------- matching
    def _matches(self, data: bytes, *, masking: bool = False) -> list[_Match]:
        """All verified variant matches in ``data`` (one automaton pass); the masking-only
        forms of the common fields (raw city, postcode) only when ``masking``."""
        low_bytes = data.lower()
        out: list[_Match] = []
        size = len(data)
        keys: Iterable[tuple[int, int]]
        if self._key_filter is not None and size >= _FILTER_MIN:
            keys = self._key_filter.find(low_bytes)
        else:
            keys = self._automaton.iter(low_bytes.decode("latin-1"))
        for end, gid in keys:
            keylen, members = self._groups[gid]
            key_start = end - keylen + 1
            best: dict[int, tuple[tuple[int, int], int, int, int]] = {}
            for vi, offset in members:
                start = key_start - offset
                if start < 0:
                    continue
                variant = self.variants[vi]
                if variant.mask_only and not masking:
                    continue
                pat = self._patterns[vi]
                need = self._need[vi]
                if data.startswith(pat, start):
                    score, stop = (3, len(pat)), start + len(pat)
                elif need < len(pat) and data.startswith(pat[:need], start):
                    score, stop = (1, need), start + need
                elif variant.case_sensitive:
                    continue
                elif low_bytes.startswith(self._patterns_low[vi], start):
                    score, stop = (2, len(pat)), start + len(pat)
                elif need < len(pat) and low_bytes.startswith(self._patterns_low[vi][:need], start):
                    score, stop = (0, need), start + need
                else:
                    continue
                if score[0] < 2:  # matched by its capped prefix: extend over the token
                    while stop < size and data[stop] in _TOKEN:
                        stop += 1
                if (variant.mask_only or (variant.opaque and len(pat) < SHORT_TOKEN)) and (
                    (start > 0 and data[start - 1] in _ALNUM)
                    or (stop < size and data[stop] in _ALNUM)
                ):
                    continue
                current = best.get(variant.canary)
                if current is None or score > current[0]:
                    best[variant.canary] = (score, vi, start, stop)
            for _score, vi, start, stop in best.values():
                out.append(_Match(vi, start, stop))
        return out

    def _drop_contained(self, matches: list[_Match]) -> list[_Match]:
        """Matches inside a longer one of the same canary dropped; a split field (given name,
        city) inside a whole value of another canary (the name, the e-mail) too: that value's
        hit says it, and the field counts on its own only where it stands alone."""
        matches.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[_Match] = []
        reach: dict[int, int] = {}
        whole_reach = -1  # end of the furthest full match of a canary that is not a split field
        for m in matches:
            c = self.variants[m.variant].canary
            if reach.get(c, -1) >= m.end:
                continue
            split = self._kinds[c] in SPLIT_KINDS
            if split and whole_reach >= m.end:
                continue
            kept.append(m)
            reach[c] = max(reach.get(c, -1), m.end)
            if not split and not self.variants[m.variant].partial:
                whole_reach = max(whole_reach, m.end)
        return kept

    # ---------------------------------------------------------------- masking
    def canary_spans(self, data: bytes) -> list[tuple[int, int, str]]:
        """(start, end, marker) of every canary form found in ``data``, overlaps and all."""
        return [
            (m.start, m.end, self._marker(self.variants[m.variant].canary))
            for m in self._matches(data, masking=True)
        ]

    def _mask_spans(self, data: bytes) -> list[tuple[int, int, str]]:
        return merge_spans(self.canary_spans(data) + card_spans(data))

    def _marker(self, canary: int) -> str:
        return f"[canary:{self._kinds[canary]}:{self._hashes[canary][:8]}]"

    def redact(self, text: str) -> str:
        """``text`` with every canary form and every Luhn-valid 13-19 digit run masked."""
        return redact_with((self,), text)

    def _excerpt(self, data: bytes, match: _Match, context: int = 24) -> str:
        lo, hi = max(0, match.start - context), min(len(data), match.end + context)
        # Mask over a wider window so that an occurrence cut by the excerpt edge is still seen.
        wide_lo = max(0, lo - self.max_pattern)
        wide_hi = min(len(data), hi + self.max_pattern)
        spans = [
            (s + wide_lo, e + wide_lo, lab) for s, e, lab in self._mask_spans(data[wide_lo:wide_hi])
        ]
        own = (match.start, match.end, self._marker(self.variants[match.variant].canary))
        # Every form found is masked: overlapping and adjacent spans join into one mask (named
        # by this hit's canary when it is part of it). Dropping the spans that overlap this
        # hit left the rest of e.g. the e-mail around a word of the name readable.
        merged = [
            (s, e, own[2] if s <= own[0] and own[1] <= e else label)
            for s, e, label in merge_spans([own, *spans])
        ]
        return render_spans(data, lo, hi, merged)

    # ---------------------------------------------------------------- scanning
    def scan(
        self,
        data: bytes | str,
        location: str,
        *,
        content_type: str | None = None,
        content_encoding: str | None = None,
        decode: bool = True,
    ) -> list[CanaryHit]:
        """Every canary in ``data`` observed at ``location`` (e.g. ``url:query``)."""
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        views = [View(raw, None, location, 0, None, None, content_type, content_encoding)]
        if decode:
            self._decode(views)
        matches_by_view: dict[int, list[_Match]] = {}
        self._search(views, [i for i, v in enumerate(views) if v.searched], matches_by_view)
        return self._hits(views, matches_by_view)

    def _decode(self, views: list[View]) -> None:
        """Every decoding layer of ``views[0]``, appended to ``views`` breadth first."""
        budget = [max(8 * len(views[0].data), 1 << 20)]
        level = [0]
        while level:
            next_level: list[int] = []
            for vid in level:
                view = views[vid]
                if view.depth >= self.max_depth or len(views) >= MAX_VIEWS:
                    continue
                for kid in decode_children(view, budget):
                    if kid.depth > self.max_depth:
                        continue
                    kid.parent = vid
                    views.append(kid)
                    next_level.append(len(views) - 1)
            level = next_level

    def _search(self, views: list[View], level: list[int], out: dict[int, list[_Match]]) -> None:
        """One automaton pass over every decoded layer, joined by NUL bytes."""
        starts: list[int] = []
        chunks: list[bytes] = []
        pos = 0
        for vid in level:
            starts.append(pos)
            chunks.append(views[vid].data)
            pos += len(views[vid].data) + 1
        joined = _SEP.join(chunks)
        for m in self._matches(joined):
            i = bisect.bisect_right(starts, m.start) - 1
            base = starts[i]
            vid = level[i]
            m.start -= base
            m.end = min(m.end - base, len(views[vid].data))
            out.setdefault(vid, []).append(m)

    def _hits(self, views: list[View], found: dict[int, list[_Match]]) -> list[CanaryHit]:
        canary_of = self._canary_of
        for vid in list(found):
            found[vid] = self._drop_contained(found[vid])
        # A canary found in a decoded child explains the same canary in the parent's span, but
        # a partial match never explains a full one: a word of the name inside the e-mail
        # must not hide the whole name elsewhere in the body (each hit counts at its best).
        explained: dict[int, list[tuple[int, int, int, bool]]] = {}
        for vid, matches in found.items():
            best: dict[int, bool] = {}  # canary -> found in full here
            for m in matches:
                c = canary_of(m.variant)
                best[c] = best.get(c, False) or not self.variants[m.variant].partial
            child = views[vid]
            while child.parent is not None:
                parent_len = len(views[child.parent].data)
                s, e = child.span if child.span is not None else (0, parent_len)
                for c, full in best.items():
                    explained.setdefault(child.parent, []).append((c, s, e, full))
                child = views[child.parent]
        hits: list[CanaryHit] = []
        for vid in sorted(found):
            view = views[vid]
            # Repeats of one variant in one view make one hit with a count.
            first: dict[int, _Match] = {}
            counts: dict[int, int] = {}
            for m in found[vid]:
                c = canary_of(m.variant)
                partial = self.variants[m.variant].partial
                if any(
                    c == ec and m.start < ee and es < m.end and (full or partial)
                    for ec, es, ee, full in explained.get(vid, ())
                ):
                    continue
                first.setdefault(m.variant, m)
                counts[m.variant] = counts.get(m.variant, 0) + 1
            for vi, m in first.items():
                c = canary_of(vi)
                variant = self.variants[vi]
                decoding, location = describe(views, vid, m.start, m.end)
                hits.append(
                    CanaryHit(
                        kind=self._kinds[c],
                        chain=variant.chain,
                        decoding=">".join(self.redact(step) for step in decoding),
                        location=self.redact(location),
                        partial=variant.partial,
                        canary_hash=self._hashes[c],
                        excerpt=self._excerpt(view.data, m),
                        encoding=encoding_chain(variant.chain, decoding),
                        count=counts[vi],
                    )
                )
        return hits

    def _canary_of(self, variant: int) -> int:
        return self.variants[variant].canary
