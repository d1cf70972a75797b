"""Hand-over: with a signing key configured, the bundle written at Finish is signed at Finish, and
the verdict block (printed last) names the key that `paywitness verify` names.

Phone mode is the cheap path (no browser): both modes judge and hand over through the same
`WitnessSession.close`, which browser mode calls at Finish before it opens the report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from demo_runs import TEST_SIGNING_KEY
from witness_helpers import PhoneClient, WitnessThread

from paywitness.evidence.manifest import MANIFEST_NAME, verify_bundle
from paywitness.evidence.signing import (
    KEY_ENV,
    fingerprint,
    load_signing_key,
    verify_signature,
)
from paywitness.profile import demo_profile_path
from paywitness.witness_mode.session import WitnessOptions

PAYWITNESS = [sys.executable, "-m", "paywitness.cli"]


def _last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1]


def test_finish_on_the_step_page_signs_the_bundle_before_the_verdict_prints(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> None:
    key = load_signing_key(TEST_SIGNING_KEY)
    expected = fingerprint(key.public_key())
    out = tmp_path / "bundle"
    w = witness_thread(
        WitnessOptions(demo=True, phone=True, output=out, seed=5, max_minutes=2, signing_key=key)
    )
    session = w.session
    assert session is not None
    w.press("1", marks="browse")  # nothing is bought: inconclusive, but a bundle all the same
    assert PhoneClient(session.proxy_port, session.password, None).finish().status == 200
    assert w.join() == 3, w.out.getvalue()
    # Signed by the time the verdict is handed over, by the key configured.
    check = verify_signature(out, MANIFEST_NAME)
    assert (check.status, check.fingerprint) == ("valid", expected), check.reason
    assert verify_bundle(out).intact
    text = w.out.getvalue()
    block = text[text.rindex("=" * 72) :]  # the verdict block: printed last and alone
    assert f"signed: manifest signed at Finish by key {expected}" in block
    assert _last_line(text).startswith("paywitness: verdict inconclusive (exit 3)")


@pytest.mark.parametrize("configured", ["--sign", "env", "profile"])
def test_witness_from_the_command_line_signs_with_the_configured_key(
    tmp_path: Path, configured: str
) -> None:
    """--sign, $PAYWITNESS_SIGNING_KEY or the profile's evidence.signing_key signs the bundle at
    Finish; nothing prints after the verdict, and `verify` names the key."""
    expected = fingerprint(load_signing_key(TEST_SIGNING_KEY).public_key())
    out = tmp_path / "bundle"
    args = ["witness", "--phone", "--output", str(out), "--seed", "3"]
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    if configured == "--sign":
        args += ["--demo", "--sign", str(TEST_SIGNING_KEY)]
    elif configured == "env":
        args += ["--demo"]
        env[KEY_ENV] = str(TEST_SIGNING_KEY)
    else:  # the demo's profile as a real target's (no shop needed: nothing is bought)
        profile = yaml.safe_load(demo_profile_path().read_text(encoding="utf-8"))
        profile["evidence"] = {"signing_key": str(TEST_SIGNING_KEY)}
        path = tmp_path / "shop.yaml"
        path.write_text(yaml.safe_dump(profile), encoding="utf-8")
        args += ["--profile", str(path)]
    r = subprocess.run(
        [*PAYWITNESS, *args],
        input="1\nq\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"signed: manifest signed at Finish by key {expected}" in r.stdout
    assert _last_line(r.stdout).startswith("paywitness: verdict inconclusive"), r.stdout[-800:]
    verify = subprocess.run(
        [*PAYWITNESS, "verify", str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"signed: valid Ed25519 signature by key {expected}" in verify.stdout
