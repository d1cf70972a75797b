"""Bad input: one clear paragraph, exit 2, no traceback (cases not already in test_cli.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from paywitness.errors import ConfigError
from paywitness.proxy import ProxyRunner

_GOOD = """\
version: 1
name: t
start_url: {start}
roles:
  - {{name: {role}, hosts: [{host}]}}
  - {{name: gateway, hosts: ["*.gateway.test"]}}
payment:
  allowed_roles: [gateway]
  endpoints: [{{name: charge, path: /v1/charges}}]
  invoice_endpoint: null
flow:
  steps:
    - {{goto: /, step: browse}}
    - {{click: "#buy", step: checkout, moment: buy}}
    - {{click: "#pay", step: pay, moment: pay}}
    - {{wait_for: "#done", moment: confirmation}}
"""


def _profile(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "profile.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paywitness.cli", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "is not valid YAML"),
        (_GOOD.format(start="https://a.test/", role="bank", host='"*.a.test"'), "'bank'"),
        (_GOOD.format(start="https://a.test/", role="commerce", host='"api a.test"'),
         "is not a host pattern"),
        (_GOOD.format(start="https://127.0.0.1:{port}/", role="commerce", host='"a.test"'),
         "cannot be reached"),
    ],
    ids=["malformed-profile", "unknown-role", "invalid-pattern", "unreachable-target"],
)  # fmt: skip
def test_bad_profile_is_exit_2(tmp_path: Path, text: str, message: str) -> None:
    path = _profile(tmp_path, text.replace("{port}", str(_free_port())))
    r = _run("run", "--profile", str(path), "--output", str(tmp_path / "out"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert r.stderr.startswith("paywitness: error: ")
    assert "Traceback" not in r.stderr + r.stdout
    assert len(r.stderr.strip().splitlines()) <= 8


def test_port_already_in_use_is_a_config_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proxy = ProxyRunner([], confdir=tmp_path / "ca", listen_port=port)
        with pytest.raises(ConfigError, match=f"could not listen on 127.0.0.1:{port}") as e:
            proxy.start()
    assert "choose another port" in str(e.value)
