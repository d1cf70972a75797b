"""The `paywitness_profile` option that several proxy addons read: one definition, one loader
(here, not in proxy_addons/, where every module is an addon script)."""

from __future__ import annotations

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from paywitness.classify import Classifier
from paywitness.errors import ProfileError
from paywitness.profile import load_profile

__all__ = ["add_profile_option", "configured_classifier"]


def add_profile_option(loader: Loader) -> None:
    loader.add_option("paywitness_profile", str, "", "Path of the target profile (YAML)")


def configured_classifier(updated: set[str]) -> Classifier | None:
    """The classifier of a newly set `paywitness_profile` (None: not set by this update).

    A profile that does not load is an OptionsError, which mitmproxy reports and refuses.
    """
    if "paywitness_profile" not in updated or not ctx.options.paywitness_profile:
        return None
    try:
        return Classifier(load_profile(ctx.options.paywitness_profile))
    except ProfileError as e:
        raise exceptions.OptionsError(str(e)) from e
