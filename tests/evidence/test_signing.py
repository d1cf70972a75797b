"""Signed bundles: Ed25519 over the manifest, and an RFC 3161 timestamp from a local TSA."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from paywitness.cli import main
from paywitness.evidence.manifest import write_manifest
from paywitness.evidence.signing import load_signing_key, sign_manifest

from .conftest import make_run


@pytest.fixture
def key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """A signing key made with `paywitness keys init`, and its printed fingerprint."""
    path = tmp_path / "keys" / "org.key"
    assert main(["keys", "init", str(path)]) == 0
    out = capsys.readouterr().out
    fp = out.split("fingerprint (publish this): ")[1].split()[0]
    return path, fp


def _signed_bundle(tmp_path: Path, key: Path, name: str = "run") -> Path:
    out = tmp_path / "reports" / name
    make_run(out, tmp_path)
    sign_manifest(out, load_signing_key(key), "MANIFEST.sha256")
    return out


def test_keys_init_writes_a_private_key_only_its_owner_reads(
    key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, fp = key
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"PUBLIC KEY" in path.with_name("org.key.pub").read_bytes()
    assert len(fp) == 64
    assert main(["keys", "init", str(path)]) == 2  # never overwritten silently
    assert "already exists" in capsys.readouterr().err


def test_a_signed_bundle_verifies_and_names_its_key(
    tmp_path: Path, key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _signed_bundle(tmp_path, key[0])
    assert main(["verify", str(bundle)]) == 0
    assert f"signed: valid Ed25519 signature by key {key[1]}" in capsys.readouterr().out


def test_an_unsigned_bundle_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    assert main(["verify", str(out)]) == 0
    assert "unsigned: no MANIFEST.sig" in capsys.readouterr().out


def test_one_changed_byte_or_a_swapped_signature_fails(
    tmp_path: Path, key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _signed_bundle(tmp_path, key[0])
    # Someone changes a file and regenerates the manifest: only the signature can tell.
    scorecard = bundle / "scorecard.json"
    data = bytearray(scorecard.read_bytes())
    data[10] ^= 1
    scorecard.write_bytes(bytes(data))
    write_manifest(bundle)
    assert main(["verify", str(bundle)]) == 1
    assert "signature does not match MANIFEST.sha256" in capsys.readouterr().out
    # The signature of another bundle, by the same key, does not fit this one either.
    other = _signed_bundle(tmp_path, key[0], "other")
    shutil.copy(other / "MANIFEST.sig", bundle / "MANIFEST.sig")
    assert main(["verify", str(bundle)]) == 1
    assert "signature INVALID" in capsys.readouterr().out


def test_a_corrupt_signature_file_fails_clearly(
    tmp_path: Path, key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _signed_bundle(tmp_path, key[0])
    sig = bundle / "MANIFEST.sig"
    doc = json.loads(sig.read_text())
    doc["signature"] = "not base64!"
    sig.write_text(json.dumps(doc))
    assert main(["verify", str(bundle)]) == 1
    assert "MANIFEST.sig is corrupt" in capsys.readouterr().out
    sig.write_text("{ half a file")
    assert main(["verify", str(bundle)]) == 1
    assert "MANIFEST.sig is corrupt" in capsys.readouterr().out


def test_report_signs_its_record_with_the_key(
    tmp_path: Path, key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _signed_bundle(tmp_path, key[0])
    assert main(["report", str(bundle), "--sign", str(key[0])]) == 0
    capsys.readouterr()
    assert main(["verify", str(bundle)]) == 0
    assert f"intact, chained to MANIFEST.sha256 (signed by {key[1]})" in capsys.readouterr().out


def test_missing_or_wrong_type_keys_are_usage_errors(
    tmp_path: Path, key: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    assert main(["report", str(out), "--sign", str(tmp_path / "nope.key")]) == 2
    assert "cannot be read" in capsys.readouterr().err
    ec_key = tmp_path / "ec.key"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert main(["report", str(out), "--sign", str(ec_key)]) == 2
    assert "not Ed25519" in capsys.readouterr().err
    pub = key[0].with_name("org.key.pub")
    assert main(["report", str(out), "--sign", str(pub)]) == 2
    assert "that is a public key" in capsys.readouterr().err
    assert main(["demo", "--sign", str(ec_key), "--output", str(tmp_path / "x")]) == 2
    assert not (out / "rejudged").exists()


# -- RFC 3161 -----------------------------------------------------------------------------------

OPENSSL = shutil.which("openssl")


def _tsa_files(d: Path) -> Path:
    """A TSA key and certificate (EKU timeStamping, critical) and an `openssl ts` config."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paywitness test TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    (d / "tsa.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (d / "tsa.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "serial").write_text("01\n")
    cfg = d / "tsa.cnf"
    cfg.write_text(
        f"""[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = {d}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
    )
    return cfg


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[str]:
    """A local RFC 3161 authority: `openssl ts -reply` behind a tiny HTTP server on loopback."""
    if OPENSSL is None:
        pytest.skip("needs the openssl command for a local TSA")
    d = tmp_path / "tsa"
    d.mkdir()
    cfg = _tsa_files(d)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                (d / "q.tsq").write_bytes(query)
                subprocess.run(
                    [
                        OPENSSL,
                        "ts",
                        "-reply",
                        "-config",
                        str(cfg),
                        "-queryfile",
                        str(d / "q.tsq"),
                        "-out",
                        str(d / "r.tsr"),
                    ],
                    check=True,
                    capture_output=True,
                )
                reply = (d / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/tsa"
    srv.shutdown()


def test_a_local_tsa_timestamp_verifies_and_fails_after_tampering(
    tmp_path: Path, tsa: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    assert main(["timestamp", str(out), "--tsa", tsa]) == 0
    assert (out / "MANIFEST.tsq").is_file()
    assert (out / "MANIFEST.tsr").is_file()
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "timestamped: " in capsys.readouterr().out
    # openssl itself agrees the token covers the request.
    done = subprocess.run(
        [
            str(OPENSSL),
            "ts",
            "-verify",
            "-in",
            str(out / "MANIFEST.tsr"),
            "-queryfile",
            str(out / "MANIFEST.tsq"),
            "-CAfile",
            str(tmp_path / "tsa" / "tsa.crt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr
    # A file changed and the manifest regenerated: the token is for another hash.
    (out / "scorecard.json").write_text("{}")
    write_manifest(out)
    assert main(["verify", str(out)]) == 1
    assert "the token is for another hash" in capsys.readouterr().out


def test_a_token_for_another_bundle_is_refused(
    tmp_path: Path, tsa: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "reports" / "a", tmp_path / "reports" / "b"
    make_run(a, tmp_path)
    make_run(b, tmp_path)
    assert main(["timestamp", str(a), "--tsa", tsa]) == 0
    shutil.copy(a / "MANIFEST.tsr", b / "MANIFEST.tsr")
    capsys.readouterr()
    assert main(["verify", str(b)]) == 1
    assert "timestamp INVALID: the token is for another hash" in capsys.readouterr().out
    # The token's own bytes changed: the authority's signature no longer holds.
    token = bytearray((a / "MANIFEST.tsr").read_bytes())
    token[-5] ^= 1  # inside the signature, the last field of the token
    (a / "MANIFEST.tsr").write_bytes(bytes(token))
    assert main(["verify", str(a)]) == 1
    assert "the authority's signature over the token fails" in capsys.readouterr().out
    (b / "MANIFEST.tsr").write_bytes(b"\x30\x03garbage")
    assert main(["verify", str(b)]) == 1
    assert "is not a usable token" in capsys.readouterr().out


def test_timestamp_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "run"
    make_run(out, tmp_path)
    assert main(["timestamp", str(out), "--tsa", "ftp://example.invalid/"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    (out / "scorecard.json").write_text("{}")
    assert main(["timestamp", str(out), "--tsa", "http://127.0.0.1:9/"]) == 2
    assert "would certify the changed files" in capsys.readouterr().err
