"""`paywitness verify | report | keys | timestamp`: checking, re-judging and sealing bundles."""

from __future__ import annotations

import argparse
from pathlib import Path

from paywitness.errors import ConfigError

__all__ = ["add_parsers", "main", "report_command", "verify_command"]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The evidence commands' sub-parsers."""
    verify = sub.add_parser(
        "verify",
        help="Check an evidence bundle: manifest, signature, timestamp, re-judged records",
    )
    verify.add_argument("bundle", metavar="BUNDLE", help="Evidence bundle folder")

    report = sub.add_parser(
        "report",
        help="Verify a stored bundle, then re-judge it offline into rejudged/<time>/",
    )
    report.add_argument("bundle", metavar="BUNDLE", help="Evidence bundle folder")
    report.add_argument(
        "--profile", metavar="PATH", help="Profile to judge with (default: the bundle's copy)"
    )
    report.add_argument(
        "--force-unverified",
        action="store_true",
        help="Re-judge even a bundle that fails verification; the result is marked UNVERIFIED",
    )
    add_sign_option(report)

    keys = sub.add_parser("keys", help="Manage the Ed25519 key that signs bundles")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    init = keys_sub.add_parser("init", help="Make a new signing key and print its fingerprint")
    init.add_argument(
        "path",
        nargs="?",
        default="paywitness-signing.key",
        metavar="PATH",
        help="Private key file to write (default paywitness-signing.key; PATH.pub beside it)",
    )
    init.add_argument("--force", action="store_true", help="Replace an existing key file")

    allure = sub.add_parser(
        "allure",
        help="Build the Allure 3 report of a bundle, with the trend of its reports folder",
    )
    allure.add_argument("bundle", metavar="BUNDLE", help="Evidence bundle folder")

    ts = sub.add_parser("timestamp", help="Add an RFC 3161 timestamp over a bundle's manifest")
    ts.add_argument("bundle", metavar="BUNDLE", help="Evidence bundle folder")
    ts.add_argument("--tsa", required=True, metavar="URL", help="RFC 3161 timestamp authority")


def add_sign_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sign",
        metavar="KEY",
        help="Sign the manifest with this Ed25519 key (default: $PAYWITNESS_SIGNING_KEY, "
        "then the profile's evidence.signing_key)",
    )


def verify_command(bundle: Path) -> int:
    """Exit 0 if the manifest, its signature, timestamp and re-judged records all hold."""
    from paywitness.evidence.verify import check_bundle

    check = check_bundle(bundle)
    m = check.manifest
    if m.intact:
        print(f"paywitness: {bundle}: intact ({m.checked} files match the manifest)")
    else:
        print(f"paywitness: {bundle}: NOT intact")
        for line in m.lines():
            print(f"  {line}")
    print(f"  {check.signature.line()}")
    print(f"  {check.timestamp.line()}")
    for record in check.records:
        print(f"  {record.line()}")
    if not check.ok:
        print(f"paywitness: {bundle} fails verification")
    return 0 if check.ok else 1


def report_command(ns: argparse.Namespace) -> int:
    """Verify, then re-judge the stored ledgers into a new record; exit code per verdict."""
    from paywitness.evidence.bundle import rejudge_bundle
    from paywitness.evidence.signing import load_signing_key, resolve_signing_key

    key_path = resolve_signing_key(ns.sign)
    key = load_signing_key(key_path) if key_path else None
    return rejudge_bundle(
        Path(ns.bundle),
        Path(ns.profile) if ns.profile else None,
        force_unverified=ns.force_unverified,
        key=key,
        baseline=Path(ns.baseline) if getattr(ns, "baseline", None) else None,
    )


def _keys(ns: argparse.Namespace) -> int:
    from paywitness.evidence.signing import init_key

    key, pub, fp = init_key(Path(ns.path), force=ns.force)
    print(f"paywitness: signing key written to {key} (keep it private; owner-only)")
    print(f"  public key: {pub}")
    print(f"  fingerprint (publish this): {fp}")
    print(f"  sign runs with --sign {key} or PAYWITNESS_SIGNING_KEY={key}")
    return 0


def _timestamp(ns: argparse.Namespace) -> int:
    from paywitness.evidence.timestamp import request_timestamp, verify_timestamp
    from paywitness.evidence.verify import check_bundle

    bundle = Path(ns.bundle)
    check = check_bundle(bundle)
    if not check.manifest.intact:
        raise ConfigError(
            f"{bundle} does not match its manifest ({'; '.join(check.manifest.lines())}); "
            "timestamping it would certify the changed files"
        )
    request_timestamp(bundle, ns.tsa)
    print(f"paywitness: {bundle}: {verify_timestamp(bundle).line()}")
    return 0


def main(ns: argparse.Namespace) -> int:
    if ns.command == "verify":
        return verify_command(Path(ns.bundle))
    if ns.command == "keys":
        return _keys(ns)
    if ns.command == "timestamp":
        return _timestamp(ns)
    if ns.command == "allure":
        from paywitness.evidence.allure_report import generate_allure_report

        index = generate_allure_report(Path(ns.bundle))
        print(f"paywitness: allure report {index} (trend: {index.parent.parent})")
        return 0
    return report_command(ns)
