"""`MANIFEST.sha256`: the SHA-256 of every file of a bundle, in `sha256sum` format."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from paywitness.errors import ConfigError

__all__ = [
    "MANIFEST_NAME",
    "REJUDGED_DIR",
    "SEAL_NAMES",
    "VerifyResult",
    "bundle_files",
    "is_bundle",
    "read_manifest",
    "sha256_file",
    "verify_bundle",
    "write_manifest",
]

MANIFEST_NAME = "MANIFEST.sha256"
#: Made after the manifest, over it: its signature and RFC 3161 timestamp request and token.
SEAL_NAMES = (MANIFEST_NAME, "MANIFEST.sig", "MANIFEST.tsq", "MANIFEST.tsr")
#: Re-judged records, added later, each sealed by its own manifest chained to the original.
REJUDGED_DIR = "rejudged"
# What makes a folder a bundle even before its manifest is written.
_BUNDLE_MARKERS = (MANIFEST_NAME, "verdict.json", "run.json")
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def bundle_files(bundle: Path) -> list[str]:
    """Every regular file the manifest covers, as sorted POSIX relative paths: all but the
    manifest's own seal (signature, timestamp) and the re-judged records added after it."""
    out = []
    for p in bundle.rglob("*"):
        if p.is_symlink() or not p.is_file():
            continue
        rel = p.relative_to(bundle).as_posix()
        if rel not in SEAL_NAMES and not rel.startswith(REJUDGED_DIR + "/"):
            out.append(rel)
    return sorted(out)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return _sha256(path)


def is_bundle(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in _BUNDLE_MARKERS)


def write_manifest(bundle: Path, also: dict[str, str] | None = None) -> Path:
    """(Re)write the manifest over the bundle as it is now (plus `also`: path -> digest of
    files outside it, e.g. the original manifest a re-judged record chains to)."""
    lines = [f"{_sha256(bundle / rel)}  {rel}\n" for rel in bundle_files(bundle)]
    lines += [f"{digest}  {rel}\n" for rel, digest in sorted((also or {}).items())]
    path = bundle / MANIFEST_NAME
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_manifest(bundle: Path) -> dict[str, str]:
    """Path -> digest from the manifest; a malformed line is a ConfigError naming it."""
    path = bundle / MANIFEST_NAME
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel:
            raise ConfigError(
                f"{path} line {n} is not `<sha256>  <path>` (got {line[:80]!r}); the manifest "
                "itself was altered, so the bundle cannot be trusted"
            )
        entries[rel.removeprefix("*")] = digest.lower()
    return entries


@dataclass
class VerifyResult:
    """What differs between a bundle and its manifest."""

    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"extra:   {p}" for p in self.extra]
        return out


def verify_bundle(bundle: Path) -> VerifyResult:
    """Recompute every digest; ConfigError if the folder is not a bundle with a manifest."""
    if not bundle.is_dir():
        raise ConfigError(f"{bundle} is not a folder; pass the evidence bundle folder of a run")
    if not (bundle / MANIFEST_NAME).is_file():
        what = "a bundle without a manifest" if is_bundle(bundle) else "not a paywitness bundle"
        raise ConfigError(
            f"{bundle} is {what} (no {MANIFEST_NAME}); pass the output folder of a finished "
            "run, e.g. reports/latest"
        )
    expected = read_manifest(bundle)
    present = set(bundle_files(bundle))
    result = VerifyResult(checked=len(expected))
    for rel, digest in sorted(expected.items()):
        if rel not in present:
            result.missing.append(rel)
        elif _sha256(bundle / rel) != digest:
            result.changed.append(rel)
    result.extra = sorted(present - expected.keys())
    return result
