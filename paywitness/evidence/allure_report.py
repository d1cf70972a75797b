"""The Allure 3 (Node) report of a bundle, with the trend of every run in its reports folder.

Allure 3 keeps a run's history in `historyPath` (allurerc.mjs: `<reports>/allure-history.jsonl`)
and charts it; runs that share a reports folder therefore share one trend. Allure 3 has no
--clean: regenerating into an existing folder nests the new report, so it is emptied first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from paywitness.errors import ConfigError

__all__ = ["ALLURE_HISTORY", "allure_binary", "generate_allure_report"]

ALLURE_HISTORY = "allure-history.jsonl"
_ROOT = Path(__file__).resolve().parents[2]


def allure_binary(root: Path = _ROOT) -> Path | None:
    """The project's Allure 3 (`npm ci` installs it into node_modules), or None."""
    path = root / "node_modules" / ".bin" / "allure"
    return path if path.is_file() else None


def generate_allure_report(bundle: Path, *, root: Path = _ROOT, timeout: float = 300) -> Path:
    """`<reports>/allure-report/index.html` from the bundle's allure-results, trend included."""
    results = bundle / "allure-results"
    if not results.is_dir():
        raise ConfigError(f"{bundle} has no allure-results; runs made by `paywitness demo` do")
    binary = allure_binary(root)
    if binary is None:
        raise ConfigError(
            f"Allure 3 is not installed in {root / 'node_modules'}; run `npm ci` there "
            "(needs Node 20)"
        )
    reports = bundle.resolve().parent
    output = reports / "allure-report"
    shutil.rmtree(output, ignore_errors=True)
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true", "PAYWITNESS_REPORTS": str(reports)}
    done = subprocess.run(
        [str(binary), "generate", str(results.resolve()), "--config", str(root / "allurerc.mjs")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"allure generate failed: {(done.stderr or done.stdout)[-1000:]}")
    return output / "index.html"
