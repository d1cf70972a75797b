"""The `paywitness` command: demo, run (and, as they land, witness, verify, report)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from paywitness.errors import ConfigError, EvidenceError, PaywitnessError
from paywitness.patterns import host_matches

if TYPE_CHECKING:
    import pytest
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from paywitness.session import RunResult

__all__ = ["main"]

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _scenarios_dir() -> Path:
    d = _project_root() / "scenarios"
    if not d.is_dir():
        raise ConfigError(
            f"the standard scenarios were not found at {d}; paywitness runs them from its "
            "checkout, so install it with `pip install -e .` from a clone"
        )
    return d


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paywitness",
        description="Prove that a social-storefront purchase is paid in the commerce back end.",
        epilog="Exit codes: 0 pass, 1 fail, 2 usage or configuration error, 3 inconclusive.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="Run the suite against the built-in demo shop")
    demo.add_argument(
        "--violation",
        action="append",
        default=[],
        metavar="NAME",
        help="Make the demo shop misbehave in this named way (repeatable; see --list-violations)",
    )
    demo.add_argument(
        "--baseline", action="store_true", help="Run the demo shop as before the migration"
    )
    demo.add_argument(
        "--list-violations", action="store_true", help="Print the violation catalog and exit"
    )
    _common(demo)

    matrix = sub.add_parser(
        "matrix", help="Run the demo once compliant and once per violation; print the matrix"
    )
    matrix.add_argument("--write", metavar="PATH", help="Write the matrix as Markdown to PATH")
    matrix.add_argument(
        "--check", metavar="PATH", help="Exit 1 if PATH differs from the regenerated matrix"
    )

    merge = sub.add_parser(
        "merge", help="Merge the bundles of several shards into one bundle and one verdict"
    )
    merge.add_argument("bundles", nargs="+", metavar="BUNDLE", help="Shard output folders")
    merge.add_argument("--output", required=True, metavar="DIR", help="New folder to write")
    from paywitness.evidence.commands import add_sign_option

    add_sign_option(merge)

    run = sub.add_parser(
        "run",
        help="Run the standard scenarios against a target profile",
        fromfile_prefix_chars="@",
    )
    run.add_argument("--profile", required=True, metavar="PATH", help="Target profile (YAML)")
    run.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="Dial SCHEME://ADDRESS:PORT for HOST through the proxy (repeatable; like curl)",
    )
    _common(run)

    from paywitness.profile_cli import add_profile_parser

    add_profile_parser(sub)

    drift = sub.add_parser("drift", help="List what appeared or disappeared between two runs")
    drift.add_argument("bundle_a", metavar="BUNDLE_A", help="Earlier evidence bundle")
    drift.add_argument("bundle_b", metavar="BUNDLE_B", help="Later evidence bundle")
    _witness_parser(sub)

    from paywitness.evidence.commands import add_parsers

    add_parsers(sub)
    return p


def _witness_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser(
        "witness", help="A person pays by hand (browser, or a phone through the proxy)"
    )
    w.add_argument("--profile", metavar="PATH", help="Target profile (YAML)")
    w.add_argument("--demo", action="store_true", help="Witness the built-in demo shop")
    w.add_argument(
        "--violation",
        action="append",
        default=[],
        metavar="NAME",
        help="With --demo: make the demo shop misbehave in this named way (repeatable)",
    )
    w.add_argument(
        "--phone", action="store_true", help="Pay on a phone pointed at the proxy (no browser)"
    )
    w.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="Proxy address (default 127.0.0.1, any free port); beyond loopback needs auth",
    )
    w.add_argument("--output", metavar="DIR", help="Evidence folder (default reports/<time>/)")
    w.add_argument("--seed", type=int, metavar="INT", help="Seed for the buyer and test card")
    w.add_argument("--browser", metavar="PATH", help="Chromium binary to use")
    w.add_argument(
        "--headless", action="store_true", help="Hide the browser (automation and tests)"
    )
    from paywitness.evidence.commands import add_sign_option

    add_sign_option(w)
    w.add_argument(
        "--max-minutes",
        type=float,
        default=120.0,
        metavar="N",
        help="Stop waiting for Finish after N minutes and judge what was recorded",
    )


def _witness(ns: argparse.Namespace) -> int:
    from paywitness.witness_mode.command import parse_listen, run_witness
    from paywitness.witness_mode.session import WitnessOptions, WitnessSession

    if ns.pytest_args:
        raise ConfigError(f"witness does not take {' '.join(ns.pytest_args)!r}; see --help")
    if ns.max_minutes <= 0:
        raise ConfigError(f"--max-minutes {ns.max_minutes:g} must be more than 0")
    host, port = parse_listen(ns.listen)
    key = _signing_key(ns, ns.profile)
    options = WitnessOptions(
        profile_path=Path(ns.profile) if ns.profile else None,
        demo=ns.demo,
        violations=tuple(ns.violation),
        phone=ns.phone,
        listen_host=host,
        listen_port=port,
        output=Path(ns.output) if ns.output else None,
        seed=ns.seed,
        browser=ns.browser,
        headless=ns.headless,
        max_minutes=ns.max_minutes,
    )
    sessions: list[WitnessSession] = []
    code = run_witness(options, out=sys.stdout, stdin=sys.stdin, on_ready=sessions.append)
    if key is not None and sessions:
        _sign_bundle(sessions[0].output, key)
    return code


def _signing_key(ns: argparse.Namespace, profile_path: str | None) -> Ed25519PrivateKey | None:
    """The key that signs this run's manifest (--sign > $PAYWITNESS_SIGNING_KEY > profile),
    loaded before anything runs so a bad key is a usage error, not a lost signature."""
    from paywitness.evidence.signing import load_signing_key, resolve_signing_key

    profile_key = None
    if profile_path:
        from paywitness.profile import load_profile

        profile_key = load_profile(profile_path).evidence.signing_key
    path = resolve_signing_key(getattr(ns, "sign", None), profile_key)
    return load_signing_key(path) if path is not None else None


def _sign_bundle(output: Path, key: Ed25519PrivateKey) -> None:
    from paywitness.evidence.manifest import MANIFEST_NAME
    from paywitness.evidence.signing import fingerprint, sign_manifest

    if not (output / MANIFEST_NAME).is_file():
        print(f"paywitness: {output} has no manifest, so nothing was signed", file=sys.stderr)
        return
    sign_manifest(output, key, MANIFEST_NAME)
    print(f"paywitness: manifest signed by key {fingerprint(key.public_key())}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenarios",
        metavar="PATH",
        help="Run these scenario files or folders instead of the standard scenarios",
    )
    p.add_argument("--output", metavar="DIR", help="Evidence folder (default reports/<time>/)")
    p.add_argument("--seed", type=int, metavar="INT", help="Seed for buyers, cards, canaries")
    p.add_argument("--browser", metavar="PATH", help="Chromium binary to use")
    p.add_argument("--headed", action="store_true", help="Show the browser")
    p.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="Only run scenarios matching EXPR (pytest -k)"
    )
    p.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="NAME",
        help="Only pay with these methods of the profile's flow (repeatable)",
    )
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="NAME",
        help="Emulate a device: desktop or a Playwright device name, e.g. 'Pixel 7' (repeatable)",
    )
    p.add_argument(
        "--locale", action="append", default=[], metavar="LOCALE", help="Locale (repeatable)"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="Every payment method on desktop, Pixel 7 and iPhone 14 (unless --device is given)",
    )
    p.add_argument(
        "--shard", metavar="I/N", help="Run shard I of N; combine with `paywitness merge`"
    )
    p.add_argument("-n", dest="workers", metavar="N", help="Parallel workers (pytest-xdist)")
    from paywitness.evidence.commands import add_sign_option

    add_sign_option(p)
    p.add_argument_group(
        "pytest", "Any other argument (e.g. -x, --slowmo 300, -p no:warnings) is passed to pytest"
    )


def _list_violations() -> int:
    from paywitness.demo.violations import CATALOG

    width = max(len(n) for n in CATALOG)
    for v in CATALOG.values():
        print(f"{v.name.ljust(width)}  {v.category:<12}  {v.description}")
    return EXIT_PASS


def _matrix(ns: argparse.Namespace) -> int:
    from paywitness.matrix import drift, render_markdown, run_matrix

    rows = run_matrix()
    text = render_markdown(rows)
    print(text, end="")
    if ns.write:
        Path(ns.write).write_text(text, encoding="utf-8")
    if ns.check:
        problems = drift(Path(ns.check).read_text(encoding="utf-8"), rows)
        if problems:
            print(f"paywitness: {ns.check} drifted: " + "; ".join(problems), file=sys.stderr)
            return EXIT_FAIL
    return EXIT_PASS if all(r.ok for r in rows) else EXIT_FAIL


def _pytest_args(ns: argparse.Namespace, output: Path) -> list[str]:
    scenarios = getattr(ns, "scenarios", None) or str(_scenarios_dir())
    args = [scenarios, f"--paywitness-output={output}", "-p", "no:cacheprovider"]
    if ns.command == "demo":
        args.append("--paywitness-demo")
        args += [f"--paywitness-violation={v}" for v in ns.violation]
        if ns.baseline:
            args.append("--paywitness-baseline")
    else:
        args.append(f"--paywitness-profile={ns.profile}")
        args += [f"--paywitness-resolve={r}" for r in ns.resolve]
    if ns.seed is not None:
        args.append(f"--paywitness-seed={ns.seed}")
    if ns.browser:
        args.append(f"--paywitness-browser={ns.browser}")
    if ns.headed:
        args.append("--headed")
    if ns.keyword:
        args += ["-k", ns.keyword]
    args += [f"--paywitness-method={m}" for m in ns.method]
    devices = ns.device or (["desktop", "Pixel 7", "iPhone 14"] if ns.full else [])
    args += [f"--paywitness-device={d}" for d in devices]
    args += [f"--paywitness-locale={loc}" for loc in ns.locale]
    if ns.shard:
        args.append(f"--paywitness-shard={ns.shard}")
    if ns.workers:
        args += ["-n", ns.workers]
    extra = list(ns.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    from paywitness.evidence.gate import evidence_pytest_args

    return args + evidence_pytest_args(output, extra, allure=ns.command == "demo") + extra


def _check_reachable(start_url: str, overrides: Sequence[str] = ()) -> None:
    """Fail fast (seconds, not a browser timeout) when nobody answers at the start URL's host
    (or at the address a host override sends it to)."""
    import socket
    from urllib.parse import urlsplit

    from proxy_addons.host_map import parse_host_map

    u = urlsplit(start_url)
    host = u.hostname or ""
    port = u.port or (443 if u.scheme == "https" else 80)
    for entry in parse_host_map(list(overrides)):
        if host_matches(entry.pattern, host):
            host, port = entry.host, entry.port
            break
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise ConfigError(
            f"the target's start URL {start_url} cannot be reached ({host}:{port}: "
            f"{e.strerror or e}); check the profile's start_url, that the shop is up and that "
            "this machine can reach it"
        ) from e


def _preflight(ns: argparse.Namespace) -> tuple[Path, Ed25519PrivateKey | None]:
    """Check what can be checked before a browser starts: every bad input is exit 2."""
    from paywitness.browser import find_chromium
    from paywitness.profile import load_profile
    from paywitness.run import default_output_dir, ensure_writable

    if ns.command == "demo":
        from paywitness.demo.violations import get_violation

        for v in ns.violation:
            get_violation(v)
        if ns.violation and ns.baseline:
            raise ConfigError(
                "--baseline and --violation both change the demo shop; use one at a time"
            )
    else:
        profile = load_profile(ns.profile)
        from paywitness.target import host_overrides

        overrides = host_overrides(profile, ns.resolve)
        if ns.scenarios and not Path(ns.scenarios).exists():
            raise ConfigError(f"--scenarios {ns.scenarios} does not exist; pass a file or folder")
        _check_reachable(profile.start_url, overrides)
    key = _signing_key(ns, None if ns.command == "demo" else ns.profile)
    output = Path(ns.output) if ns.output else default_output_dir()
    ensure_writable(output)
    if find_chromium(ns.browser) is None:
        from paywitness.browser import playwright_chromium

        if playwright_chromium() is None:
            raise ConfigError(
                "no Chromium was found: run `make demo` once (it installs one), or "
                "`playwright install chromium`, or pass --browser PATH"
            )
    return output, key


class _RunResult:
    """Handed to pytest.main: keeps what the plugin's recording session decided at the end."""

    def __init__(self) -> None:
        self.result: RunResult | None = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from paywitness.pytest_plugin.keys import RESULT_KEY

        self.result = config.stash.get(RESULT_KEY, None)


def _run_suite(ns: argparse.Namespace) -> int:
    import pytest

    from paywitness.run import update_latest_link

    output, key = _preflight(ns)
    outcome = _RunResult()
    rc = pytest.main(_pytest_args(ns, output), plugins=[outcome])
    if key is not None:
        _sign_bundle(output, key)
    if rc in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED):
        return EXIT_USAGE
    result = outcome.result
    if result is None or result.verdict is None:
        print(
            f"paywitness: nothing was recorded (pytest exit code {int(rc)}); "
            "the run is inconclusive",
            file=sys.stderr,
        )
        return EXIT_INCONCLUSIVE
    if not ns.output:
        update_latest_link(output)
    verdict = result.verdict.verdict
    code = result.exit_code
    if code == EXIT_PASS and rc != pytest.ExitCode.OK:
        # Every failed test report already keeps the verdict from passing; this is the last
        # line for what no report carried (an internal error, a hook that broke).
        print(
            f"paywitness: pytest ended with exit code {int(rc)} though the verdict is pass: "
            "something failed outside the scenarios' reports, so the run is inconclusive",
            file=sys.stderr,
        )
        code = EXIT_INCONCLUSIVE
    print(f"paywitness: verdict {verdict} (exit {code}); evidence in {output}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    ns, extra = _parser().parse_known_args(argv)
    ns.pytest_args = extra
    try:
        if ns.command == "demo" and ns.list_violations:
            return _list_violations()
        if ns.command == "matrix":
            return _matrix(ns)
        if ns.command == "profile":
            from paywitness.profile_cli import profile_main

            return profile_main(ns)
        if ns.command == "drift":
            from paywitness.inventory import drift_main

            return drift_main(ns.bundle_a, ns.bundle_b)
        if ns.command == "witness":
            return _witness(ns)
        if ns.command == "merge":
            from paywitness.evidence.signing import load_signing_key, resolve_signing_key
            from paywitness.merge import merge_bundles

            key_path = resolve_signing_key(ns.sign)
            key = load_signing_key(key_path) if key_path else None
            return merge_bundles([Path(b) for b in ns.bundles], Path(ns.output), key)
        if ns.command in ("verify", "report", "keys", "timestamp", "allure"):
            from paywitness.evidence import commands

            return commands.main(ns)
        return _run_suite(ns)
    except ConfigError as e:
        print(f"paywitness: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except EvidenceError as e:
        print(f"paywitness: error: {e}", file=sys.stderr)
        return EXIT_FAIL
    except PaywitnessError as e:
        print(f"paywitness: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("paywitness: interrupted; what was recorded so far is kept", file=sys.stderr)
        return EXIT_INCONCLUSIVE


if __name__ == "__main__":
    raise SystemExit(main())
