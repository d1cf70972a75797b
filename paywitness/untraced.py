"""The harness's own reads of a page, kept out of the buyer's trace.

A Playwright trace records every API call as an action and takes a DOM snapshot of the page (each
frame) before and after it. The harness reads the page far more often than the buyer acts on it:
at every step's end the storage of every frame and the displays the profile names; after
every fill the value typed, around every click whether it landed. In a demo purchase those reads
were half the trace's actions and 47 % of its ~900 frame snapshots, and they buried the buyer's own
clicks in the trace viewer.

`untraced()` marks the calls made inside it as Playwright's own internal calls, which the tracer
neither lists nor snapshots, as Playwright does for the calls its own helpers make. That is a
private part of the Playwright client (its API zones); where the installed version lacks it, the
calls are made and traced as before (`UNTRACED_SUPPORTED` says which), never changed in what they
do. Screenshots stay traced calls: untraced, the masks drawn into a cross-site frame were missing
from the picture in 2 of 40 A/A runs (docs/seamless.md), and a mask missing from a step's picture
would show what the buyer typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["UNTRACED_SUPPORTED", "untraced"]


def _client_zones() -> tuple[Any, Any, Any] | None:
    """(the zone variable, `current_zone`, `ApiZone`) of the installed Playwright client, or None
    where it has no such zones."""
    try:
        from playwright._impl.channel_owner import ApiZone
        from playwright._impl.utils.zones import _async_local_storage, current_zone
    except ImportError:
        return None
    try:  # the zone and call the client itself makes, as it makes them
        current_zone().with_("apiZone", _internal_call(ApiZone))
    except (TypeError, AttributeError):
        return None
    return _async_local_storage, current_zone, ApiZone


def _internal_call(api_zone: Any) -> Any:
    return api_zone(api_name="paywitness", frames=[], title=None, internal=True)


_ZONES = _client_zones()
UNTRACED_SUPPORTED = _ZONES is not None


@contextmanager
def untraced() -> Iterator[None]:
    """Calls made inside are the harness's own reads: no trace action, no DOM snapshot, no
    `pw:api` log line. Their results, errors and timeouts are those of the same calls outside."""
    if _ZONES is None:
        yield
        return
    var, current_zone, api_zone = _ZONES
    token = var.set(current_zone().with_("apiZone", _internal_call(api_zone)))
    try:
        yield
    finally:
        var.reset(token)
