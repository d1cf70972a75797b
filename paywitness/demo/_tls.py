"""A per-run demo CA and one server certificate per company, made with `cryptography`."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DemoPki", "make_pki"]

_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True)
class DemoPki:
    """Where the CA and each company's certificate chain and key were written."""

    ca_cert_path: Path
    company_files: dict[str, tuple[Path, Path]]  # company -> (cert chain PEM, key PEM)

    def server_context(self, company: str) -> ssl.SSLContext:
        """TLS context a company's server listens with."""
        cert, key = self.company_files[company]
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """TLS context for server-to-server calls: trusts only the demo CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert_path))


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_pki(directory: Path, companies: dict[str, tuple[str, list[str]]]) -> DemoPki:
    """Create a fresh CA and sign one certificate per company (organisation, hostnames)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Paywitness Demo", "Paywitness Demo CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_path = directory / "demo-ca.pem"
    ca_path.write_bytes(ca_pem)

    files: dict[str, tuple[Path, Path]] = {}
    for company, (organisation, hostnames) in companies.items():
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans.append(x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(organisation, hostnames[0]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path = directory / f"{company}-cert.pem"
        key_path = directory / f"{company}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
        files[company] = (cert_path, key_path)
    return DemoPki(ca_cert_path=ca_path, company_files=files)
