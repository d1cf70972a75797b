"""The harness's own reads of a page, kept out of the buyer's trace.

A Playwright trace records every API call as an action and takes a DOM snapshot of the page (each
frame) before and after it. The harness reads the page far more often than the buyer acts on it:
at every step's end the storage of every frame and the displays the profile names; after
every fill the value typed, around every click whether it landed. In a demo purchase those reads
were half the trace's actions and 47 % of its ~900 frame snapshots, and they buried the buyer's own
clicks in the trace viewer.

`untraced()` marks the calls made inside it as Playwright's own internal calls, which the tracer
neither lists nor snapshots, as Playwright does for the calls its own helpers make. Screenshots
stay traced calls: untraced, the masks drawn into a cross-site frame were missing from the
picture in 2 of 40 A/A runs (docs/seamless.md), and a mask missing from a step's picture would
show what the buyer typed. That is a
private part of the Playwright client; where the installed version lacks it, the calls are made
and traced as before (`UNTRACED_SUPPORTED` says which), never changed in what they do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["UNTRACED_SUPPORTED", "untraced"]


def _internal_zone() -> tuple[Any, Any] | None:
    """(the client's zone variable, a zone whose API call is internal), or None where the
    installed Playwright has no such zones."""
    try:
        from playwright._impl.channel_owner import ApiZone
        from playwright._impl.utils.zones import _async_local_storage, current_zone
    except ImportError:
        return None
    try:
        call = ApiZone(api_name="paywitness", frames=[], title=None, internal=True)
        return _async_local_storage, current_zone().with_("apiZone", call)
    except (TypeError, AttributeError):
        return None


UNTRACED_SUPPORTED = _internal_zone() is not None


@contextmanager
def untraced() -> Iterator[None]:
    """Calls made inside are the harness's own reads: no trace action, no DOM snapshot, no
    `pw:api` log line. Their results, errors and timeouts are those of the same calls outside."""
    found = _internal_zone()
    if found is None:
        yield
        return
    var, zone = found
    token = var.set(zone)
    try:
        yield
    finally:
        var.reset(token)
