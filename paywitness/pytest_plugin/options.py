"""The plugin's command-line options and ini settings, and the run they describe."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from paywitness.errors import ConfigError
from paywitness.profile import demo_profile_path, load_profile
from paywitness.run import RunContext, default_output_dir

__all__ = [
    "DEFAULT_PROXY_MODE",
    "PROXY_MODES",
    "proxy_in_own_process",
    "pytest_addoption",
    "resolve_run",
]

#: Where mitmproxy runs: on a thread of the test process, or in a process of its own. A thread
#: is the default: on 2 busy cores the process measured no faster (docs/performance.md).
PROXY_MODES = ("thread", "process")
DEFAULT_PROXY_MODE = "thread"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paywitness", "paywitness: payment routing evidence")
    group.addoption(
        "--paywitness-profile",
        default=None,
        metavar="PATH",
        help="Target profile (YAML); default: the built-in demo shop's profile",
    )
    group.addoption(
        "--paywitness-demo",
        action="store_true",
        default=False,
        help="Start the built-in demo shop (implied when no profile is given)",
    )
    group.addoption(
        "--paywitness-violation",
        action="append",
        default=[],
        metavar="NAME",
        help="Make the demo shop misbehave in this named way (repeatable)",
    )
    group.addoption(
        "--paywitness-pre-migration",
        action="store_true",
        default=False,
        help="Run the demo shop as it was before the migration",
    )
    from paywitness.pytest_plugin.seamless import add_seamless_options

    add_seamless_options(group)
    group.addoption(
        "--paywitness-output",
        default=None,
        metavar="DIR",
        help="Evidence bundle folder; default: reports/<timestamp>/ (also reports/latest)",
    )
    group.addoption(
        "--paywitness-seed",
        type=int,
        default=None,
        metavar="INT",
        help="Seed for buyers, cards and canaries; default: random, shown in the report",
    )
    group.addoption(
        "--paywitness-browser",
        default=None,
        metavar="PATH",
        help="Chromium binary; default: Playwright's own, else the system's",
    )
    group.addoption(
        "--paywitness-method",
        action="append",
        default=[],
        metavar="NAME",
        help="Only run these payment methods of the profile's flow (repeatable)",
    )
    group.addoption(
        "--paywitness-resolve",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="Dial SCHEME://ADDRESS:PORT for HOST through the proxy (repeatable; like curl)",
    )
    group.addoption(
        "--paywitness-device",
        action="append",
        default=[],
        metavar="NAME",
        help="Emulate this device: desktop or a Playwright device name such as 'Pixel 7' "
        "(repeatable)",
    )
    group.addoption(
        "--paywitness-locale",
        action="append",
        default=[],
        metavar="LOCALE",
        help="Browser locale such as id-ID or en-US (repeatable)",
    )
    group.addoption(
        "--paywitness-shard",
        default=None,
        metavar="I/N",
        help="Run only shard I of N of the scenarios (merge the bundles with paywitness merge)",
    )
    group.addoption(
        "--paywitness-connect",
        default=None,
        metavar="WS_URL",
        help="Use a remote browser (Playwright browser server) at this ws:// endpoint",
    )
    group.addoption(
        "--paywitness-control",
        action="store_true",
        default=False,
        help="Replay each scenario once more in a browser without the proxy and compare "
        "(observation.control; also the profile's observation.control)",
    )
    group.addoption(
        "--paywitness-proxy",
        default=None,
        choices=PROXY_MODES,
        help="Where mitmproxy runs: 'thread' (a thread of the test process) or 'process' (a "
        f"process of its own, off the test's GIL); default: {DEFAULT_PROXY_MODE}",
    )
    parser.addini("paywitness_profile", "Default target profile (YAML)", default="")
    parser.addini(
        "paywitness_proxy", "Where mitmproxy runs: process or thread", default=DEFAULT_PROXY_MODE
    )
    parser.addini("paywitness_output", "Default evidence bundle parent folder", default="reports")
    parser.addini(
        "paywitness_control",
        "Pair every run with a control run without the proxy (as --paywitness-control)",
        type="bool",
        default=False,
    )


def proxy_in_own_process(config: pytest.Config) -> bool:
    """Whether the run's proxy runs in a process of its own (else on a thread of this one)."""
    # Precedence: command line > ini > built-in default.
    mode = config.getoption("--paywitness-proxy") or config.getini("paywitness_proxy")
    if mode not in PROXY_MODES:
        raise ConfigError(
            f"paywitness_proxy = {mode!r} is not a proxy mode; use one of {', '.join(PROXY_MODES)}"
        )
    return bool(mode == "process")


def resolve_run(config: pytest.Config) -> RunContext:
    """The run this pytest process belongs to (a worker gets the controller's folder and seed)."""
    # Precedence: command line > ini > built-in default.
    profile_opt = config.getoption("--paywitness-profile") or config.getini("paywitness_profile")
    demo = bool(config.getoption("--paywitness-demo")) or not profile_opt
    profile_path = Path(profile_opt) if profile_opt else demo_profile_path()
    violations = tuple(config.getoption("--paywitness-violation"))
    baseline = bool(config.getoption("--paywitness-pre-migration"))
    if (violations or baseline) and not demo:
        raise ConfigError(
            "--paywitness-violation and --paywitness-pre-migration change the built-in demo "
            "shop; "
            "add --paywitness-demo or leave --paywitness-profile out"
        )
    if violations:
        from paywitness.demo.violations import get_violation

        for v in violations:
            get_violation(v)
    profile = load_profile(profile_path)
    # Precedence: command line > ini > profile `observation.control` > off (each can only add
    # the control: a gate that asks for it is never silently switched off).
    control = (
        bool(config.getoption("--paywitness-control"))
        or bool(config.getini("paywitness_control"))
        or profile.observation.control
    )
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        output = Path(workerinput["paywitness_output"])
        seed = int(workerinput["paywitness_seed"])
        worker = str(workerinput["workerid"])
    else:
        out_opt = config.getoption("--paywitness-output")
        output = (
            Path(out_opt)
            if out_opt
            else default_output_dir(Path(config.getini("paywitness_output")))
        )
        seed_opt = config.getoption("--paywitness-seed")
        seed = seed_opt if seed_opt is not None else random.SystemRandom().randrange(1, 10**9)
        worker = "main"
    return RunContext(
        output=output.resolve(),
        profile=profile,
        profile_path=profile_path,
        seed=seed,
        worker=worker,
        demo=demo,
        violations=violations,
        baseline=baseline,
        control=control,
    )
