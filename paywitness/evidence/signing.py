"""Ed25519 signatures over a bundle's manifest: who vouches for the evidence.

`MANIFEST.sig` (JSON) holds the signer's public key, its fingerprint (SHA-256 of the raw 32-byte
key, as hex) and the signature over the exact bytes of `MANIFEST.sha256`. Verifying needs only
the bundle; trusting it means comparing the fingerprint with the one the signer published.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from paywitness.errors import ConfigError

__all__ = [
    "KEY_ENV",
    "SIGNATURE_NAME",
    "SignatureCheck",
    "fingerprint",
    "init_key",
    "load_signing_key",
    "resolve_signing_key",
    "sign_manifest",
    "verify_signature",
]

SIGNATURE_NAME = "MANIFEST.sig"
#: Environment variable naming the signing key file (below --sign, above the profile).
KEY_ENV = "PAYWITNESS_SIGNING_KEY"
_ALGORITHM = "ed25519"


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, as colon-free hex (what a signer publishes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def init_key(path: Path, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write a new private key (PEM, owner-only) and its public key beside it (`.pub`)."""
    pub_path = path.with_name(path.name + ".pub")
    if path.exists() and not force:
        raise ConfigError(
            f"{path} already exists; a signing key is never overwritten silently (choose another "
            "path, or pass --force to replace it and re-publish the new fingerprint)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    pub_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, pub_path, fingerprint(public)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in `path`; a ConfigError saying what is wrong otherwise."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            f"the signing key {path} cannot be read ({e.strerror or e}); make one with "
            "`paywitness keys init PATH` or fix --sign / PAYWITNESS_SIGNING_KEY"
        ) from e
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        hint = " (that is a public key; sign with the private one)" if b"PUBLIC KEY" in data else ""
        raise ConfigError(
            f"the signing key {path} is not an unencrypted PEM private key{hint}; make one with "
            "`paywitness keys init PATH`"
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(
            f"the signing key {path} is a {type(key).__name__.removeprefix('_')}, not Ed25519; "
            "paywitness signs with Ed25519 only: make one with `paywitness keys init PATH`"
        )
    return key


def resolve_signing_key(cli: str | None, profile_key: str | None = None) -> Path | None:
    """Which key signs: --sign, else $PAYWITNESS_SIGNING_KEY, else the profile's; or none."""
    chosen = cli or os.environ.get(KEY_ENV) or profile_key
    return Path(chosen).expanduser() if chosen else None


def sign_manifest(folder: Path, key: Ed25519PrivateKey, manifest_name: str) -> Path:
    """Sign the exact bytes of `folder/manifest_name` into `folder/MANIFEST.sig`."""
    data = (folder / manifest_name).read_bytes()
    public = key.public_key()
    doc = {
        "algorithm": _ALGORITHM,
        "signed": manifest_name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "public_key": base64.b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode(),
        "fingerprint": fingerprint(public),
        "signature": base64.b64encode(key.sign(data)).decode(),
    }
    path = folder / SIGNATURE_NAME
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one folder's manifest signature."""

    status: Literal["unsigned", "valid", "invalid"]
    fingerprint: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "invalid"

    def line(self) -> str:
        if self.status == "unsigned":
            return (
                f"unsigned: no {SIGNATURE_NAME}, so nothing shows who made this bundle (the "
                "manifest alone can be regenerated by anyone)"
            )
        if self.status == "valid":
            return f"signed: valid Ed25519 signature by key {self.fingerprint}"
        return f"signature INVALID: {self.reason}"


def verify_signature(folder: Path, manifest_name: str) -> SignatureCheck:
    """Check `folder/MANIFEST.sig` against the manifest's bytes as they are now."""
    path = folder / SIGNATURE_NAME
    if not path.exists():
        return SignatureCheck("unsigned")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("algorithm") != _ALGORITHM:
            raise ValueError(f"algorithm is not {_ALGORITHM}")
        raw_key = base64.b64decode(doc["public_key"], validate=True)
        signature = base64.b64decode(doc["signature"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw_key)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as e:
        return SignatureCheck("invalid", reason=f"{path} is corrupt ({e})")
    fp = fingerprint(public)
    if doc.get("fingerprint") not in (None, fp):
        return SignatureCheck(
            "invalid", fp, f"{path} names fingerprint {doc['fingerprint']} but holds key {fp}"
        )
    if doc.get("signed") != manifest_name:
        return SignatureCheck(
            "invalid", fp, f"{path} signs {doc.get('signed')!r}, not {manifest_name}"
        )
    manifest = folder / manifest_name
    if not manifest.is_file():
        return SignatureCheck("invalid", fp, f"{manifest} is missing")
    try:
        public.verify(signature, manifest.read_bytes())
    except InvalidSignature:
        return SignatureCheck(
            "invalid", fp, f"the signature does not match {manifest_name} as it is now"
        )
    return SignatureCheck("valid", fp)
