"""The own-shop example (examples/spa-shop) leaves no raw planted value or cookie either:
the same search as the demo bundle's, over a `paywitness run --profile` bundle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from leak_search import (
    bundle_views,
    cookie_values,
    find_leaks,
    planted_values,
    searched_values,
    word_bounded,
)

from paywitness.browser import find_chromium

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "spa-shop"

pytestmark = pytest.mark.skipif(find_chromium(None) is None, reason="needs a Chromium")


@pytest.fixture(scope="module")
def own_shop_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """One run of the standard scenarios against the example shop, for the whole module."""
    tmp = tmp_path_factory.mktemp("own-shop")
    out, journal = tmp / "bundle", tmp / "cookies.jsonl"
    bindir = Path(sys.executable).parent
    cmd = [
        sys.executable,
        str(EXAMPLE / "launch.py"),
        "--",
        str(bindir / "paywitness"),
        "run",
        "--profile",
        str(EXAMPLE / "profile.yaml"),
        "--output",
        str(out),
        "--seed",
        "11",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "cookie_journal",
        f"--cookie-journal={journal}",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests"),  # the cookie_journal plugin
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=900, check=False, cwd=ROOT, env=env
    )
    assert (out / "verdict.json").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout + proc.stderr, journal


def test_no_raw_planted_value_or_cookie_in_the_own_shop_bundle(
    own_shop_run: tuple[Path, str, Path],
) -> None:
    bundle, terminal, journal = own_shop_run
    planted, not_rebuilt = planted_values(bundle)
    assert not_rebuilt == [], "planted values the seed did not rebuild"
    kinds = {kind for _, kind, _ in planted}
    assert kinds >= {"name", "email", "phone", "address", "card", "city", "postcode", "region"}
    values = searched_values(planted)
    values.update(cookie_values(journal))  # the example sets none today; any it sets counts
    views = [*bundle_views(bundle), ("terminal output", terminal.encode())]
    leaks = find_leaks(views, values, word_bounded(planted))
    assert not leaks, f"{len(leaks)} raw values in the bundle:\n" + "\n".join(leaks)
