"""A run's heap is settled once its session is up: garbage collected, the rest frozen."""

from __future__ import annotations

import gc
import weakref

from paywitness.pytest_plugin.fixtures import settle_heap


class _Node:
    other: _Node


def test_garbage_is_collected_before_the_rest_is_frozen() -> None:
    was_enabled = gc.isenabled()
    gc.disable()  # no automatic collection frees the cycle first
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    try:
        settle_heap()
        assert gone() is None, "the cycle was frozen instead of freed"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
