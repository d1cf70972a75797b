"""`paywitness witness` from the command line: bad input is exit 2, the proxy stays on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from paywitness.cli import main
from paywitness.errors import ConfigError
from paywitness.proxy import ProxyRunner, is_loopback
from paywitness.witness_mode.command import parse_listen

PAYWITNESS = [sys.executable, "-m", "paywitness.cli"]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PAYWITNESS, "witness", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone"], "pass --profile PATH"),
        (["--phone", "--violation", "payment-on-social"], "add --demo"),
        (["--phone", "--demo", "--violation", "nope"], "unknown demo violation 'nope'"),
        (["--phone", "--demo", "--listen", "127.0.0.1:http"], "is not HOST:PORT"),
        (["--phone", "--profile", "does-not-exist.yaml"], "does-not-exist.yaml"),
        (["--phone", "--demo", "--max-minutes", "0"], "more than 0"),
        (["--phone", "--demo", "-x"], "does not take '-x'"),
    ],
)
def test_bad_input_is_exit_2_with_one_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["witness", *args, "--output", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paywitness: error:")
    assert message in err
    assert not (tmp_path / "b" / "ledger.jsonl").exists()


def test_headed_browser_without_a_display_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["witness", "--demo", "--output", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "no display" in err
    assert "xvfb-run" in err


def test_phone_mode_from_the_terminal_listens_on_loopback_only(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    r = run("--phone", "--demo", "--output", str(out), "--seed", "3", stdin="1\ns\nq\n")
    assert r.returncode == 3, r.stdout + r.stderr  # nothing paid: inconclusive, never pass
    assert "Host: 127.0.0.1" in r.stdout
    assert "adb reverse" in r.stdout
    assert "Username: paywitness" in r.stdout
    assert "step browse; marked: browse" in r.stdout
    data = json.loads((out / "verdict.json").read_text())
    assert data["verdict"] == "inconclusive"
    witness = data["meta"]["witness"]
    assert witness["ca"].startswith("paywitness run ")
    assert {k: witness[k] for k in ("steps", "finished_by", "listen", "proxy_auth")} == {
        "steps": ["browse"],
        "finished_by": "terminal",
        "listen": "127.0.0.1:0",
        "proxy_auth": True,
    }
    verify = subprocess.run(
        [*PAYWITNESS, "verify", str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verify.returncode == 0, verify.stdout


def test_a_listener_beyond_loopback_without_auth_is_refused(tmp_path: Path) -> None:
    proxy = ProxyRunner([], confdir=tmp_path / "ca", listen_host="0.0.0.0")
    with pytest.raises(ConfigError, match="without proxy authentication"):
        proxy.start()
    assert proxy.port is None
    with pytest.raises(ConfigError, match="every interface"):
        ProxyRunner([], confdir=tmp_path / "ca", listen_host="").start()


def test_the_default_proxy_is_reachable_on_loopback_only(tmp_path: Path) -> None:
    with ProxyRunner([], confdir=tmp_path / "ca") as proxy:
        assert proxy.port is not None
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5):
            pass
        lan = _non_loopback_address()
        if lan is not None:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((lan, proxy.port), timeout=5).close()


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addr = str(s.getsockname()[0])
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("127.0.0.1", ("127.0.0.1", 0)),
        ("[::1]:8080", ("::1", 8080)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("", False),
        ("192.168.1.5", False),
        ("::", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
