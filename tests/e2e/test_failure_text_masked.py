"""A failing scenario's own failure text (pytest shows local values) is masked in every file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCENARIO = """
import json
from pathlib import Path


def test_fails_showing_the_buyer(witness, buyer, card):
    # Hand the raw values to the outer test, outside the bundle, then fail showing them.
    raw = [buyer.name, buyer.email, card.number, buyer.city, buyer.postcode]
    Path(r"{raw}").write_text(json.dumps(raw))
    print("typed:", buyer.name, buyer.email, card.number, buyer.city, buyer.postcode)
    name, number = buyer.name, card.number
    assert name == number, (
        f"{{name}} <{{buyer.email}}> of {{buyer.city}} {{buyer.postcode}} paid with {{number}}"
    )
"""


def test_failure_text_and_output_are_masked_in_junit_allure_and_terminal(tmp_path: Path) -> None:
    raw_file = tmp_path / "raw.json"
    scenario = tmp_path / "scenarios" / "test_failing.py"
    scenario.parent.mkdir()
    scenario.write_text(SCENARIO.format(raw=raw_file))
    out = tmp_path / "bundle"
    r = subprocess.run(
        [sys.executable, "-m", "paywitness.cli", "demo", "--scenarios", str(scenario.parent),
         "--output", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode in (1, 3), r.stdout[-2000:] + r.stderr[-2000:]
    raw = json.loads(raw_file.read_text())
    # The city and the postcode count as words of their own only ("40115" inside a timestamp
    # is not the postcode); the unique values count anywhere.
    patterns = [re.compile(re.escape(v.encode())) for v in raw[:3]]
    patterns += [re.compile(rb"(?<![A-Za-z0-9])" + re.escape(v.encode()) + rb"(?![A-Za-z0-9])")
                 for v in raw[3:]]  # fmt: skip
    junit = (out / "junit.xml").read_text()
    assert "[canary:name:" in junit  # the failure is there, masked
    # The common fields too (masked though never a hit: see MASK_ONLY_MIN).
    assert "[canary:city:" in junit
    assert "[canary:postcode:" in junit
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any("allure-results" in str(p) for p in files)
    for path in files:
        data = path.read_bytes()
        for value, pattern in zip(raw, patterns, strict=True):
            assert not pattern.search(data), f"raw {value[:3]}… in {path.relative_to(out)}"
    for pattern in patterns:
        assert not pattern.search((r.stdout + r.stderr).encode())
