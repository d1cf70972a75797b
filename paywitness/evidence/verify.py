"""What `paywitness verify` checks: the manifest, its signature and timestamp, and the chain of
re-judged records added after it (each sealed by its own manifest naming the original's hash)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from paywitness.errors import ConfigError
from paywitness.evidence.manifest import (
    MANIFEST_NAME,
    REJUDGED_DIR,
    SEAL_NAMES,
    VerifyResult,
    read_manifest,
    sha256_file,
    verify_bundle,
    write_manifest,
)
from paywitness.evidence.signing import SignatureCheck, sign_manifest, verify_signature
from paywitness.evidence.timestamp import TimestampCheck, verify_timestamp

__all__ = [
    "ORIGINAL_REF",
    "BundleCheck",
    "RecordCheck",
    "check_bundle",
    "new_record",
    "seal_record",
    "verify_records",
]


#: How a re-judged record's manifest names the bundle's own manifest (sha256sum -c works there).
ORIGINAL_REF = f"../../{MANIFEST_NAME}"
UNVERIFIED_SUFFIX = "-unverified"


def new_record(bundle: Path, *, unverified: bool) -> Path:
    """A new, dated folder under rejudged/ (never an existing one)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    record = bundle / REJUDGED_DIR / (stamp + (UNVERIFIED_SUFFIX if unverified else ""))
    record.mkdir(parents=True, exist_ok=False)
    return record


def seal_record(bundle: Path, record: Path, key: Ed25519PrivateKey | None = None) -> Path:
    """The record's own manifest: its files plus the hash of the bundle's manifest; signed."""
    path = write_manifest(record, also={ORIGINAL_REF: sha256_file(bundle / MANIFEST_NAME)})
    if key is not None:
        sign_manifest(record, key, MANIFEST_NAME)
    return path


@dataclass
class RecordCheck:
    """One re-judged record: its files, its chain to the original manifest, its signature."""

    name: str
    problems: list[str] = field(default_factory=list)
    signature: SignatureCheck = field(default_factory=lambda: SignatureCheck("unsigned"))

    @property
    def ok(self) -> bool:
        return not self.problems and self.signature.ok

    @property
    def unverified(self) -> bool:
        return self.name.endswith(UNVERIFIED_SUFFIX)

    def line(self) -> str:
        what = f"{REJUDGED_DIR}/{self.name}"
        if self.unverified:
            what += " (UNVERIFIED: re-judged with --force-unverified from a bundle that failed)"
        if not self.ok:
            reasons = self.problems + ([self.signature.line()] if not self.signature.ok else [])
            return f"re-judged record {what}: NOT intact: " + "; ".join(reasons)
        sig = (
            "signed by " + str(self.signature.fingerprint)
            if self.signature.fingerprint
            else ("unsigned")
        )
        return f"re-judged record {what}: intact, chained to {MANIFEST_NAME} ({sig})"


def _check_record(bundle: Path, record: Path) -> RecordCheck:
    check = RecordCheck(record.name)
    if not (record / MANIFEST_NAME).is_file():
        check.problems.append(f"no {MANIFEST_NAME}")
        return check
    try:
        expected = read_manifest(record)
    except ConfigError as e:
        check.problems.append(str(e))
        return check
    original = expected.pop(ORIGINAL_REF, None)
    if original is None:
        check.problems.append(f"its manifest does not name the original ({ORIGINAL_REF})")
    elif not (bundle / MANIFEST_NAME).is_file():
        check.problems.append(f"the bundle's {MANIFEST_NAME} is missing")
    elif sha256_file(bundle / MANIFEST_NAME) != original:
        check.problems.append(f"chained to another {MANIFEST_NAME} than the bundle's")
    present = {
        p.relative_to(record).as_posix()
        for p in record.rglob("*")
        if p.is_file() and p.relative_to(record).as_posix() not in SEAL_NAMES
    }
    for rel, digest in sorted(expected.items()):
        if rel not in present:
            check.problems.append(f"missing: {rel}")
        elif sha256_file(record / rel) != digest:
            check.problems.append(f"changed: {rel}")
    check.problems += [f"extra: {rel}" for rel in sorted(present - expected.keys())]
    check.signature = verify_signature(record, MANIFEST_NAME)
    return check


def verify_records(bundle: Path) -> list[RecordCheck]:
    root = bundle / REJUDGED_DIR
    if not root.is_dir():
        return []
    return [_check_record(bundle, r) for r in sorted(root.iterdir()) if r.is_dir()]


@dataclass
class BundleCheck:
    """Everything `verify` checks, and whether it all holds."""

    manifest: VerifyResult
    signature: SignatureCheck
    timestamp: TimestampCheck
    records: list[RecordCheck]

    @property
    def ok(self) -> bool:
        return (
            self.manifest.intact
            and self.signature.ok
            and self.timestamp.ok
            and all(r.ok for r in self.records)
        )

    def failures(self) -> list[str]:
        """What fails, one line each, naming the files."""
        out = list(self.manifest.lines())
        if not self.signature.ok:
            out.append(self.signature.line())
        if not self.timestamp.ok:
            out.append(self.timestamp.line())
        out += [r.line() for r in self.records if not r.ok]
        return out


def check_bundle(bundle: Path) -> BundleCheck:
    """Run every check; ConfigError if the folder is not a bundle with a manifest."""
    manifest = verify_bundle(bundle)
    return BundleCheck(
        manifest=manifest,
        signature=verify_signature(bundle, MANIFEST_NAME),
        timestamp=verify_timestamp(bundle),
        records=verify_records(bundle),
    )
