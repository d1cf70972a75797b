"""Finding a Chromium: Playwright's own if installed, else the system's; never a download."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paywitness.errors import ConfigError

__all__ = [
    "CHROMIUM_ARGS",
    "SYSTEM_CANDIDATES",
    "browser_version",
    "ensure_chromium",
    "ensure_xvfb",
    "find_chromium",
    "launched_headless",
    "paints_unwatched",
    "playwright_browsers_dir",
    "playwright_chromium",
    "screencast_needed",
]

SYSTEM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium's headless shell: what Playwright itself launches for a headless run (its own
# `chromium-headless-shell`), and Debian packages it too. The same engine without the desktop
# browser's shell: a headless demo purchase cost 10.8-12.4 s of CPU with it against 15.0-15.7 s
# with the full browser (session 11's figures, one row of the detection matrix).
HEADLESS_SHELL_CANDIDATES = ("chromium-headless-shell",)
_HEADLESS_SHELL_FIXED = ("/usr/lib/chromium/chromium-headless-shell",)
_SYSTEM_FIXED = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/snap/bin/chromium")

# Quiet the browser's own background traffic (update checks, sign-in, safe browsing) and keep
# every request on TCP through our proxy (no QUIC). Whatever still leaks is classified `browser`.
CHROMIUM_ARGS = (
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    # Every site in a process of its own, as desktop Chrome does: the headless shell (and a
    # Chromium built without field trials) would otherwise keep a cross-site checkout frame in
    # the storefront's renderer, which is neither what buyers run nor what the initiator watch
    # reads frames from (an out-of-process frame is a target of its own).
    "--site-per-process",
)


def _playwright_env(name: str) -> str | None:
    """An environment setting as Playwright's driver reads it (npm's config forms too)."""
    for key in (name, f"npm_config_{name.lower()}", f"npm_package_config_{name.lower()}"):
        if key in os.environ:
            return os.environ[key]
    return None


def playwright_browsers_dir() -> Path | None:
    """The folder `playwright install` puts browsers in, computed as Playwright's driver does
    (its registry: PLAYWRIGHT_BROWSERS_PATH, "0" for inside the package, else the platform's
    cache folder + ms-playwright); None on a platform Playwright does not know."""
    chosen = _playwright_env("PLAYWRIGHT_BROWSERS_PATH")
    if chosen == "0":
        import playwright

        return Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers"
    if chosen:
        return Path(os.environ.get("INIT_CWD") or os.getcwd()) / chosen
    home = Path.home()
    if sys.platform.startswith("linux"):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    elif sys.platform == "darwin":
        cache = home / "Library" / "Caches"
    elif sys.platform == "win32":
        cache = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    else:
        return None
    return cache / "ms-playwright"


def _no_playwright_chromium_on_disk() -> bool:
    """Certainly no Playwright Chromium: its browsers folder holds no `chromium*` entry.

    Asking the driver costs a Node process (0.3-0.4 s of CPU, every run) for an answer the
    folder gives where nothing was installed, as on machines whose browser is the system's."""
    folder = playwright_browsers_dir()
    if folder is None:
        return False
    try:
        return not any(entry.name.startswith("chromium") for entry in folder.iterdir())
    except OSError:
        return True  # no such folder: nothing was ever installed there


@functools.cache
def playwright_chromium() -> Path | None:
    """Playwright's own Chromium, if `playwright install chromium` put one on this machine
    (asked once per process; where its browsers folder holds a Chromium the answer starts
    Playwright's driver, which knows which of them this Playwright launches)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if _no_playwright_chromium_on_disk():
        return None
    try:
        with sync_playwright() as pw:
            path = Path(pw.chromium.executable_path)
    except Exception:  # a broken driver means "not installed", never a crash here
        return None
    return path if path.is_file() else None


def _on_path(names: tuple[str, ...]) -> Path | None:
    """The first of these commands found on PATH."""
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _on_disk(paths: tuple[str, ...]) -> Path | None:
    """The first of these files that exists."""
    return next((Path(p) for p in paths if Path(p).is_file()), None)


def _system_headless_shell() -> Path | None:
    # The binary itself before Debian's wrapper script (which stays its parent process).
    return _on_disk(_HEADLESS_SHELL_FIXED) or _on_path(HEADLESS_SHELL_CANDIDATES)


def _apt_install(*packages: str) -> bool:
    """Install Debian packages as root where apt is there (refreshing its lists only when the
    install fails without); whether they are installed."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *packages]
    if subprocess.run(install, env=env, check=False).returncode == 0:
        return True
    if subprocess.run(["apt-get", "update", "-qq"], env=env, check=False).returncode != 0:
        return False
    return subprocess.run(install, env=env, check=False).returncode == 0


def _system_chromium() -> Path | None:
    return _on_path(SYSTEM_CANDIDATES) or _on_disk(_SYSTEM_FIXED)


def find_chromium(
    explicit: str | None = None, *, prefer_playwright: bool = True, headless: bool = False
) -> Path | None:
    """An explicit path, else Playwright's own browser, else a system Chromium (None: use
    Playwright's default and let it report). For a `headless` launch the system's headless
    shell comes first where it is installed, as Playwright's own headless launch does."""
    if explicit:
        p = Path(explicit)
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise ConfigError(
                f"the browser {explicit!r} does not exist or is not executable; pass the path "
                "of a Chromium binary (e.g. /usr/bin/chromium) or leave the option out"
            )
        return p
    if prefer_playwright and playwright_chromium() is not None:
        return None  # Playwright finds its own (its headless shell for a headless launch)
    return (_system_headless_shell() if headless else None) or _system_chromium()


_SHELL_NAME = re.compile(r"headless[-_]shell", re.IGNORECASE)
# Playwright launches its own headless shell for a headless run without a binary from 1.49 on.
_PLAYWRIGHT_SHELL_FROM = (1, 49)


def paints_unwatched(executable: str | os.PathLike[str] | None, headless: bool) -> bool:
    """Whether a Chromium launched so paints after each input with nothing watching its screen.

    A headed browser paints for its window, and Chromium's headless shell paints every frame it
    produces. The full browser's headless mode does not: without a screencast running, Web
    Vitals' INP in the checkout frame read 490-680 ms instead of 50-70 ms with two runs at once
    (CI run ci22: seamless.inp failed in 7 runs), so its traces keep the screencast on.
    Measured with the shell on 2026-11-29: INP 16-40 ms with or without the screencast, and the
    screencast costs about 1.5 s of CPU a purchase (about a seventh). A browser this cannot
    tell (a channel, a remote one) is assumed not to paint unwatched."""
    if not headless:
        return True
    if executable is not None:
        return bool(_SHELL_NAME.search(Path(executable).name))
    return _playwright_version() >= _PLAYWRIGHT_SHELL_FROM


def launched_headless(launch_args: Mapping[str, Any]) -> bool:
    """Whether Playwright launch args start a headless browser (Playwright's default)."""
    return launch_args.get("headless", True) is not False


def screencast_needed(launch_args: Mapping[str, Any]) -> bool:
    """Whether a trace of a browser launched with these Playwright args needs the screencast."""
    executable = launch_args.get("executable_path")
    return not paints_unwatched(executable, launched_headless(launch_args))


@functools.cache
def _playwright_version() -> tuple[int, int]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = version("playwright").split(".")[:2]
        return int(major), int(minor)
    except (PackageNotFoundError, ValueError):
        return (0, 0)


def browser_version(path: Path) -> str:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def ensure_chromium() -> str:
    """Make sure a Chromium is usable (installing Debian's as root); return what was found.
    Beside the system's full browser (headed runs) its headless shell is installed too where
    apt allows: headless runs prefer it, as Playwright's own headless launch does."""
    own = playwright_chromium()
    if own is not None:
        return f"Playwright's own Chromium: {own}"
    system = _system_chromium()
    if system is None:
        print("paywitness: no Chromium found; installing Debian's chromium (apt-get)", flush=True)
        _apt_install("chromium", "chromium-headless-shell", "fonts-liberation")
        system = _system_chromium()
    if system is not None:
        shell = _system_headless_shell()
        # Tried once per environment: a distribution without the package is not asked again.
        tried = Path(sys.prefix) / ".paywitness-headless-shell-tried"
        if shell is None and not tried.exists():
            _apt_install("chromium-headless-shell")
            with contextlib.suppress(OSError):
                tried.touch()
            shell = _system_headless_shell()
        found = f"system Chromium: {system} ({browser_version(system)})"
        return found + (f"; headless shell: {shell}" if shell else "; no headless shell")
    raise ConfigError(
        "no Chromium was found and none could be installed. Install one, then run again: "
        "`playwright install chromium` where Playwright's download works, or "
        "`sudo apt-get install chromium fonts-liberation` on Debian/Ubuntu "
        "(or pass --paywitness-browser PATH)"
    )


def ensure_xvfb() -> str:
    """A virtual display for headed browsers (`paywitness record`/`witness` under xvfb-run in
    CI), installed as root with apt where missing; a desktop does not need it."""
    if shutil.which("xvfb-run"):
        return "xvfb-run: " + str(shutil.which("xvfb-run"))
    _apt_install("xvfb")
    found = shutil.which("xvfb-run")
    return f"xvfb-run: {found}" if found else "xvfb-run: not installed (headed tests skip)"


def main() -> int:
    try:
        print(f"paywitness: browser ok: {ensure_chromium()}")
    except ConfigError as e:
        print(f"paywitness: error: {e}", file=sys.stderr)
        return 2
    print(f"paywitness: {ensure_xvfb()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
