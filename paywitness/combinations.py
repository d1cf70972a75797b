"""Scenario combinations (payment method x device x locale) and sharding across machines."""

from __future__ import annotations

import re
from typing import Any

import pytest

from paywitness.flow_spec import BrowserSpec

__all__ = [
    "COMBINATION_PROPERTY",
    "DEFAULT_LOCALE",
    "DESKTOP",
    "apply_combinations",
    "combination_of",
    "parametrize_combinations",
    "parse_shard",
    "select_shard",
    "skip_missing_browsers",
]

DESKTOP = "desktop"
COMBINATION_PROPERTY = "paywitness-combination"
_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """`I/N` (1-based) -> (I, N); UsageError naming the value and the fix otherwise."""
    if not value:
        return None
    m = _SHARD.match(value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise pytest.UsageError(
            f"paywitness: --paywitness-shard {value!r} is not I/N with 1 <= I <= N "
            "(e.g. 1/2 and 2/2 on two machines)"
        )
    return int(m.group(1)), int(m.group(2))


def select_shard(config: pytest.Config, items: list[pytest.Item], shard: tuple[int, int]) -> None:
    """Keep every N-th scenario (by node id, so every machine agrees) and deselect the rest."""
    index, total = shard
    ordered = sorted(items, key=lambda i: i.nodeid)
    keep_ids = {it.nodeid for n, it in enumerate(ordered) if n % total == index - 1}
    kept = [it for it in items if it.nodeid in keep_ids]
    dropped = [it for it in items if it.nodeid not in keep_ids]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def _device_descriptors(names: set[str]) -> dict[str, dict[str, Any]]:
    """Playwright's own device descriptors (viewport, user agent, touch, scale) by name."""
    if not names:
        return {}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        known = pw.devices
        unknown = sorted(n for n in names if n not in known)
        if unknown:
            examples = ", ".join(sorted(k for k in known if not k.endswith("landscape"))[:8])
            raise pytest.UsageError(
                f"paywitness: unknown device {', '.join(map(repr, unknown))}; use 'desktop' or "
                f"a Playwright device name such as {examples}"
            )
        return {
            n: {k: v for k, v in known[n].items() if k != "default_browser_type"} for n in names
        }


#: The pytest-playwright fixture every browser context of a scenario comes from; a scenario
#: without it (its own browser, or none) cannot be given a device, locale or timezone.
_CONTEXT_FIXTURE = "new_context"
_DEVICE_KEYS = ("viewport", "screen", "user_agent", "device_scale_factor", "is_mobile", "has_touch")
DEFAULT_LOCALE = "id-ID"


def _chosen(config: pytest.Config, option: str) -> list[str]:
    return list(dict.fromkeys(config.getoption(option)))


def parametrize_combinations(metafunc: pytest.Metafunc, browser: BrowserSpec) -> None:
    """Device and locale parameters: for every scenario that asks for them, and, when given on
    the command line, for every scenario that opens a browser context (the user's own too)."""
    config = metafunc.config
    names = metafunc.fixturenames
    browsing = _CONTEXT_FIXTURE in names
    # Precedence: command line > the profile's `browser` section > desktop / id-ID.
    for fixture, option, default in (
        ("paywitness_device", "--paywitness-device", browser.device or DESKTOP),
        ("paywitness_locale", "--paywitness-locale", browser.locale or DEFAULT_LOCALE),
    ):
        chosen = _chosen(config, option)
        if fixture not in names:
            if not (chosen and browsing):
                continue
            names.append(fixture)  # the scenario did not ask, but its browser honours it
        values = chosen or [default]
        ids = [v.lower().replace(" ", "-") if fixture == "paywitness_device" else v for v in values]
        metafunc.parametrize(fixture, values, ids=ids)


def apply_combinations(items: list[pytest.Item], browser: BrowserSpec | None = None) -> None:
    """Give each scenario the browser context arguments of its device, locale and the
    profile's `browser` section (the command line's device and locale win over the profile)."""
    browser = browser or BrowserSpec()
    devices: set[str] = {browser.device} if browser.device else set()
    for it in items:
        params = getattr(getattr(it, "callspec", None), "params", {})
        dev = params.get("paywitness_device")
        if dev and dev != DESKTOP:
            devices.add(dev)
    descriptors = _device_descriptors(devices - {DESKTOP})
    for it in items:
        params = getattr(getattr(it, "callspec", None), "params", {})
        names = getattr(it, "fixturenames", ())
        device = params.get("paywitness_device", browser.device or DESKTOP)
        args: dict[str, Any] = {}
        profile_args = browser.context_args()
        if device == browser.device or (device == DESKTOP and not browser.device):
            # The profile's own device: its explicit settings refine it.
            args.update(descriptors.get(device, {}))
            args.update(profile_args)
        else:
            # Another device from the command line: the profile's screen settings give way.
            args.update({k: v for k, v in profile_args.items() if k not in _DEVICE_KEYS})
            args.update(descriptors.get(device, {}))
        if params.get("paywitness_locale"):
            args["locale"] = params["paywitness_locale"]
        if not args:
            continue
        if _CONTEXT_FIXTURE not in names:
            if "witness" in names:
                it.warn(
                    pytest.PytestWarning(
                        f"paywitness: {it.name} opens no browser context through "
                        "pytest-playwright (page, context, new_context), so the device, locale "
                        "and browser settings of the run do not reach it"
                    )
                )
            continue
        if params.get("browser_name") == "firefox" and args.get("is_mobile"):
            it.add_marker(
                pytest.mark.skip(
                    reason=f"Firefox cannot emulate the mobile device {device!r} (is_mobile); "
                    "run it with chromium or webkit"
                )
            )
            continue
        it.add_marker(pytest.mark.browser_context_args(**args))


def skip_missing_browsers(items: list[pytest.Item]) -> None:
    """Firefox/WebKit scenarios are skipped, with the reason, where Playwright has no such build."""
    wanted = {
        str(params["browser_name"])
        for it in items
        if (params := getattr(getattr(it, "callspec", None), "params", {})).get("browser_name")
        in ("firefox", "webkit")
    }
    if not wanted:
        return
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        missing = {
            name: getattr(pw, name).executable_path
            for name in wanted
            if not Path(getattr(pw, name).executable_path).is_file()
        }
    for it in items:
        name = getattr(getattr(it, "callspec", None), "params", {}).get("browser_name")
        if name in missing:
            it.add_marker(
                pytest.mark.skip(
                    reason=f"Playwright's {name} is not installed here ({missing[name]} is "
                    f"missing); `playwright install {name}` where its download works"
                )
            )


def combination_of(item: pytest.Item) -> str | None:
    """`method · device · locale` of a parametrized scenario, for grouping in reports."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    parts = [
        str(params[k])
        for k in ("payment_method", "paywitness_device", "paywitness_locale")
        if k in params
    ]
    return " · ".join(parts) or None
