"""RFC 3161 trusted timestamps over a bundle's manifest: proof it existed at a given time.

`paywitness timestamp BUNDLE --tsa URL` sends a TimeStampReq for the SHA-256 of
`MANIFEST.sha256` and keeps the request (`MANIFEST.tsq`) and the authority's reply
(`MANIFEST.tsr`). `verify` checks that the token's message imprint is the manifest's hash as it
is now, that its nonce is the request's and that the authority's signature over it holds.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from paywitness.errors import ConfigError, PaywitnessError

__all__ = [
    "TSQ_NAME",
    "TSR_NAME",
    "TimestampCheck",
    "TimestampError",
    "build_request",
    "request_timestamp",
    "verify_timestamp",
]

TSQ_NAME = "MANIFEST.tsq"
TSR_NAME = "MANIFEST.tsr"
# pyasn1 and its RFC modules are imported where a token is built or read (0.23 s at import:
# every run writes a bundle, few are timestamped).
_SHA256 = "2.16.840.1.101.3.4.2.1"
_HASHES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "2.16.840.1.101.3.4.2.1": ("sha256", hashes.SHA256),
    "2.16.840.1.101.3.4.2.2": ("sha384", hashes.SHA384),
    "2.16.840.1.101.3.4.2.3": ("sha512", hashes.SHA512),
    "1.3.14.3.2.26": ("sha1", hashes.SHA1),
}
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


class TimestampError(PaywitnessError):
    """The timestamp authority did not answer with a usable token."""


def build_request(digest: bytes, nonce: int) -> bytes:
    """DER TimeStampReq for a SHA-256 digest, asking for the TSA's certificate."""
    from pyasn1.codec.der import encoder
    from pyasn1.type import univ
    from pyasn1_modules import rfc3161

    req = rfc3161.TimeStampReq()
    req["version"] = 1
    imprint = req["messageImprint"]
    imprint["hashAlgorithm"]["algorithm"] = univ.ObjectIdentifier(_SHA256)
    imprint["hashAlgorithm"]["parameters"] = univ.Null("")
    imprint["hashedMessage"] = digest
    req["nonce"] = nonce
    req["certReq"] = True
    return bytes(encoder.encode(req))


def request_timestamp(bundle: Path, tsa: str, timeout: float = 30.0) -> Path:
    """Ask `tsa` to timestamp the manifest; store request and reply; returns the reply path."""
    parts = urlsplit(tsa)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--tsa {tsa!r} is not an http(s) URL of an RFC 3161 authority")
    manifest = bundle / "MANIFEST.sha256"
    if not manifest.is_file():
        raise ConfigError(f"{bundle} has no MANIFEST.sha256 to timestamp; pass a finished bundle")
    digest = hashlib.sha256(manifest.read_bytes()).digest()
    tsq = build_request(digest, secrets.randbits(63))
    request = urllib.request.Request(
        tsa, data=tsq, headers={"Content-Type": "application/timestamp-query"}, method="POST"
    )
    # The authority is dialled directly: no proxy from the environment sees the request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as resp:
            tsr = resp.read()
    except (urllib.error.URLError, OSError) as e:
        raise TimestampError(f"the timestamp authority {tsa} did not answer ({e})") from e
    (bundle / TSQ_NAME).write_bytes(tsq)
    (bundle / TSR_NAME).write_bytes(tsr)
    check = verify_timestamp(bundle)
    if check.status != "valid":
        (bundle / TSQ_NAME).unlink()
        (bundle / TSR_NAME).unlink()
        raise TimestampError(f"the reply of {tsa} is not a valid token: {check.reason}")
    return bundle / TSR_NAME


@dataclass(frozen=True)
class TimestampCheck:
    """The outcome of checking a bundle's timestamp token."""

    status: Literal["none", "valid", "invalid"]
    time: str = ""
    authority: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "invalid"

    def line(self) -> str:
        if self.status == "none":
            return "no RFC 3161 timestamp (add one with `paywitness timestamp BUNDLE --tsa URL`)"
        if self.status == "valid":
            return f"timestamped: {self.time} by {self.authority} (RFC 3161, manifest hash matches)"
        return f"timestamp INVALID: {self.reason}"


def _decode(data: bytes, spec: Any) -> Any:
    from pyasn1.codec.der import decoder

    value, rest = decoder.decode(data, asn1Spec=spec)
    if rest:
        raise ValueError("trailing bytes after the DER value")
    return value


def _verify_signer(signed: Any, econtent: bytes) -> x509.Certificate:
    """The signer's certificate, after checking its signature over the signed attributes."""
    from pyasn1.codec.der import encoder
    from pyasn1.type import univ

    certs = [
        x509.load_der_x509_certificate(bytes(encoder.encode(c["certificate"])))
        for c in signed["certificates"]
        if c.getName() == "certificate"
    ]
    signer = signed["signerInfos"][0]
    sid = signer["sid"]
    serial = (
        int(sid["issuerAndSerialNumber"]["serialNumber"])
        if sid.getName() == ("issuerAndSerialNumber")
        else None
    )
    cert = next((c for c in certs if serial is None or c.serial_number == serial), None)
    if cert is None:
        raise ValueError("the token does not carry its signer's certificate")
    digest_oid = str(signer["digestAlgorithm"]["algorithm"])
    if digest_oid not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {digest_oid}")
    name, algorithm = _HASHES[digest_oid]
    attrs = signer["signedAttrs"]
    message_digest = None
    for attr in attrs:
        if str(attr["attrType"]) == _MESSAGE_DIGEST:
            message_digest = bytes(_decode(bytes(attr["attrValues"][0]), univ.OctetString()))
    if message_digest != hashlib.new(name, econtent).digest():
        raise ValueError("the signed attributes do not match the token's content")
    # The signature covers the attributes' DER as a SET OF (tag 0x31), not as the [0] field.
    der = bytearray(encoder.encode(attrs))
    der[0] = 0x31
    signature = bytes(signer["signature"])
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, bytes(der), padding.PKCS1v15(), algorithm())
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, bytes(der), ec.ECDSA(algorithm()))
    else:
        raise ValueError(f"unsupported TSA key type {type(key).__name__}")
    return cert


def verify_timestamp(bundle: Path) -> TimestampCheck:
    """Check MANIFEST.tsr against the manifest as it is now (and the request's nonce)."""
    tsr_path = bundle / TSR_NAME
    if not tsr_path.exists():
        return TimestampCheck("none")
    from pyasn1.error import PyAsn1Error
    from pyasn1_modules import rfc3161, rfc5652

    manifest = bundle / "MANIFEST.sha256"
    try:
        resp = _decode(tsr_path.read_bytes(), rfc3161.TimeStampResp())
        status = int(resp["status"]["status"])
        if status not in (0, 1):
            raise ValueError(f"the authority refused the request (PKIStatus {status})")
        token = resp["timeStampToken"]
        if token["contentType"] != rfc5652.id_signedData:
            raise ValueError("the token is not CMS SignedData")
        signed = _decode(bytes(token["content"]), rfc5652.SignedData())
        encap = signed["encapContentInfo"]
        if encap["eContentType"] != rfc3161.id_ct_TSTInfo:
            raise ValueError("the token does not hold a TSTInfo")
        econtent = bytes(encap["eContent"])
        info = _decode(econtent, rfc3161.TSTInfo())
        imprint = info["messageImprint"]
        oid = str(imprint["hashAlgorithm"]["algorithm"])
        if oid not in _HASHES:
            raise ValueError(f"unsupported imprint algorithm {oid}")
        expected = hashlib.new(_HASHES[oid][0], manifest.read_bytes()).digest()
        if bytes(imprint["hashedMessage"]) != expected:
            return TimestampCheck(
                "invalid",
                reason=f"the token is for another hash ({bytes(imprint['hashedMessage']).hex()}), "
                f"not MANIFEST.sha256 as it is now ({expected.hex()})",
            )
        tsq_path = bundle / TSQ_NAME
        if tsq_path.exists():
            req = _decode(tsq_path.read_bytes(), rfc3161.TimeStampReq())
            if req["nonce"].isValue and int(req["nonce"]) != int(info["nonce"]):
                raise ValueError("the token's nonce is not the request's")
        cert = _verify_signer(signed, econtent)
    except OSError as e:
        return TimestampCheck("invalid", reason=f"{tsr_path} cannot be read ({e})")
    except InvalidSignature:
        return TimestampCheck("invalid", reason="the authority's signature over the token fails")
    except (PyAsn1Error, ValueError, KeyError, IndexError, TypeError) as e:
        return TimestampCheck("invalid", reason=f"{tsr_path} is not a usable token ({e})")
    fp = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return TimestampCheck(
        "valid",
        time=str(info["genTime"]),
        authority=f"{cert.subject.rfc4514_string()} (certificate SHA-256 {fp[:16]}…)",
    )
