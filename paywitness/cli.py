"""The `paywitness` command: demo, run (and, as they land, witness, verify, report)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from paywitness.errors import ConfigError, EvidenceError, PaywitnessError
from paywitness.patterns import host_matches

if TYPE_CHECKING:
    import pytest
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from paywitness.profile import Profile
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
        "--pre-migration",
        action="store_true",
        help="Run the demo shop as it was before the migration (a baseline to record)",
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
    _record_parser(sub)

    from paywitness.evidence.commands import add_parsers

    add_parsers(sub)
    sub.choices["report"].add_argument(
        "--baseline",
        metavar="BUNDLE",
        help="Judge the seamless figures against this bundle's (lent into BUNDLE)",
    )
    _baseline_parser(sub)
    return p


def _baseline_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("baseline", help="Record a baseline bundle for later seamless comparisons")
    bsub = b.add_subparsers(dest="baseline_command", required=True, metavar="ACTION")
    rec = bsub.add_parser(
        "record",
        help="Run the seamless scenario N times on the shop as it is (e.g. before the migration)",
    )
    who = rec.add_mutually_exclusive_group(required=True)
    who.add_argument("--profile", metavar="PATH", help="Profile of the shop to record (OLD.yaml)")
    who.add_argument(
        "--demo", action="store_true", help="Record the demo shop as it was before the migration"
    )
    rec.add_argument("--output", required=True, metavar="DIR", help="Bundle folder to write")
    rec.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="Runs of the seamless scenario (default: the profile's seamless.repeat, 3)",
    )
    rec.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="Dial SCHEME://ADDRESS:PORT for HOST through the proxy (repeatable; like curl)",
    )
    rec.add_argument(
        "--scenarios",
        metavar="PATH",
        help="Scenario file or folder (default: the standard seamless scenario)",
    )
    rec.add_argument("--seed", type=int, metavar="INT", help="Seed for buyers, cards, canaries")
    rec.add_argument("--browser", metavar="PATH", help="Chromium binary to use")


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


def _record_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "record", help="Buy once by hand in a browser; write the clicks and typing as flow steps"
    )
    r.add_argument("--profile", metavar="PATH", help="Target profile (YAML)")
    r.add_argument("--demo", action="store_true", help="Record a purchase in the demo shop")
    r.add_argument(
        "--output", required=True, metavar="PATH", help="Write the profile with the steps here"
    )
    r.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="Dial SCHEME://ADDRESS:PORT for HOST through the proxy (repeatable; like curl)",
    )
    r.add_argument("--seed", type=int, metavar="INT", help="Seed for the buyer and test card")
    r.add_argument("--browser", metavar="PATH", help="Chromium binary to use")
    r.add_argument("--headless", action="store_true", help="Hide the browser (tests)")
    r.add_argument(
        "--cdp-port",
        type=int,
        metavar="PORT",
        help="Open Chromium's DevTools port, for a script acting as the person (tests)",
    )
    r.add_argument("--bundle", metavar="DIR", help="Evidence folder of the recorded purchase")
    r.add_argument(
        "--max-minutes", type=float, default=60.0, metavar="N", help="Stop recording after N min"
    )


def _record(ns: argparse.Namespace) -> int:
    from paywitness.record import RecordOptions, record_main

    if ns.pytest_args:
        raise ConfigError(f"record does not take {' '.join(ns.pytest_args)!r}; see --help")
    if not ns.profile and not ns.demo:
        raise ConfigError("pass --profile PATH (a target profile) or --demo")
    return record_main(
        RecordOptions(
            profile_path=Path(ns.profile) if ns.profile else None,
            demo=ns.demo,
            output=Path(ns.output),
            resolve=tuple(ns.resolve),
            seed=ns.seed,
            browser=ns.browser,
            headless=ns.headless,
            cdp_port=ns.cdp_port,
            max_minutes=ns.max_minutes,
            bundle=Path(ns.bundle) if ns.bundle else None,
        )
    )


def _witness(ns: argparse.Namespace) -> int:
    from paywitness.witness_mode.command import parse_listen, run_witness
    from paywitness.witness_mode.session import WitnessOptions

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
        signing_key=key,  # the bundle is signed at Finish, before the verdict prints
    )
    return run_witness(options, out=sys.stdout, stdin=sys.stdin)


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
    p.add_argument(
        "--baseline",
        metavar="BUNDLE",
        help="Judge the seamless figures against this evidence bundle's (see `baseline record`)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="Runs of the seamless scenario a side (default 3 with a baseline, else 1)",
    )
    p.add_argument(
        "--baseline-profile",
        metavar="PATH",
        help="Live baseline: replay the purchase on this profile's target (the shop before the "
        "migration), interleaved old, new, new, old, ...",
    )
    p.add_argument(
        "--control",
        action="store_true",
        help="Replay each scenario in a browser without the proxy and compare (check "
        "observation.control): a shop that behaves differently when observed is inconclusive",
    )
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
        if ns.pre_migration:
            args.append("--paywitness-pre-migration")
    else:
        args.append(f"--paywitness-profile={ns.profile}")
        args += [f"--paywitness-resolve={r}" for r in ns.resolve]
    if ns.baseline:
        args.append(f"--paywitness-baseline={ns.baseline}")
    if ns.baseline_profile:
        args.append(f"--paywitness-baseline-profile={ns.baseline_profile}")
    if ns.repeat is not None:
        args.append(f"--paywitness-repeat={ns.repeat}")
    if ns.seed is not None:
        args.append(f"--paywitness-seed={ns.seed}")
    if getattr(ns, "control", False):
        args.append("--paywitness-control")
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


def _check_standard(ns: argparse.Namespace, profile: Profile | None) -> None:
    """The standard scenarios (no --scenarios) need a profile that describes a purchase."""
    if getattr(ns, "scenarios", None):
        return
    from paywitness.flow import standard_problems
    from paywitness.profile import demo_profile_path, load_profile

    problems = standard_problems(profile or load_profile(demo_profile_path()))
    if problems:
        raise ConfigError(
            "the standard scenarios cannot run on this profile: " + "; ".join(problems)
        )


def _preflight(ns: argparse.Namespace) -> tuple[Path, Ed25519PrivateKey | None]:
    """Check what can be checked before a browser starts: every bad input is exit 2."""
    from paywitness.browser import find_chromium
    from paywitness.profile import demo_profile_path, load_profile
    from paywitness.run import default_output_dir, ensure_fresh, ensure_writable

    if ns.repeat is not None and ns.repeat < 1:
        raise ConfigError(
            f"--repeat {ns.repeat}: a side needs at least one run (1 is allowed, 3 or more lets "
            "the timings be tested for significance)"
        )
    if ns.command == "demo":
        from paywitness.demo.violations import get_violation

        for v in ns.violation:
            get_violation(v)
        if ns.violation and ns.pre_migration:
            raise ConfigError(
                "--pre-migration and --violation both change the demo shop; use one at a time"
            )
        _check_standard(ns, None)
        profile = load_profile(demo_profile_path())
    else:
        profile = load_profile(ns.profile)
        _check_standard(ns, profile)
    if ns.baseline and ns.baseline_profile:
        raise ConfigError(
            "--baseline and --baseline-profile are two baselines; give one (a stored bundle, or "
            "the old target replayed live)"
        )
    if ns.baseline:
        from paywitness.seamless.baseline import check_baseline_bundle

        check_baseline_bundle(Path(ns.baseline), profile)
    if ns.baseline_profile:
        from paywitness.pytest_plugin.seamless import live_baseline_profile

        live_baseline_profile(Path(ns.baseline_profile), profile)
    if ns.command != "demo":
        from paywitness.target import host_overrides

        overrides = host_overrides(profile, ns.resolve)
        if ns.scenarios and not Path(ns.scenarios).exists():
            raise ConfigError(f"--scenarios {ns.scenarios} does not exist; pass a file or folder")
        _check_reachable(profile.start_url, overrides)
    key = _signing_key(ns, None if ns.command == "demo" else ns.profile)
    if find_chromium(ns.browser) is None:
        from paywitness.browser import playwright_chromium

        if playwright_chromium() is None:
            raise ConfigError(
                "no Chromium was found: run `make demo` once (it installs one), or "
                "`playwright install chromium`, or pass --browser PATH"
            )
    # Last: the output folder is the one check that creates something (a refused run leaves no
    # empty dated folder in reports/).
    output = Path(ns.output) if ns.output else default_output_dir()
    ensure_fresh(output)
    ensure_writable(output)
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


def _check_report_baseline(ns: argparse.Namespace) -> None:
    """`report BUNDLE --baseline OTHER`: OTHER must be a usable baseline for BUNDLE's profile.

    Checked before anything is written; the re-judging then lends OTHER's seamless figures and
    screens into its own dated record (a sealed bundle's files are never changed)."""
    from paywitness.profile import load_profile
    from paywitness.seamless.baseline import check_baseline_bundle

    bundle = Path(ns.bundle)
    profile_path = Path(ns.profile) if ns.profile else bundle / "profile.yaml"
    if not bundle.is_dir() or not profile_path.is_file():
        raise ConfigError(
            f"{bundle} is not a paywitness bundle with a profile copy; pass a run's output "
            "folder (and --profile PATH if it holds no profile.yaml)"
        )
    if Path(ns.baseline).resolve() == bundle.resolve():
        raise ConfigError(f"--baseline {ns.baseline} is the bundle being re-judged; name another")
    check_baseline_bundle(Path(ns.baseline), load_profile(profile_path))


def _baseline_record(ns: argparse.Namespace) -> int:
    """`baseline record`: the seamless scenario N times on the shop as it is; its figures are
    what matters (a pre-migration shop fails payment by design), so exit 0 once recorded."""
    ns.command = "demo" if ns.demo else "run"
    ns.violation, ns.pre_migration, ns.baseline = [], bool(ns.demo), None
    ns.baseline_profile = None
    ns.headed, ns.keyword, ns.method, ns.device, ns.locale = False, None, [], [], []
    ns.full, ns.shard, ns.workers = False, None, None
    from paywitness.profile import demo_profile_path, load_profile

    profile = load_profile(demo_profile_path() if ns.demo else ns.profile)
    if ns.repeat is None:
        ns.repeat = profile.seamless.repeat
    if not ns.scenarios:
        ns.scenarios = str(_scenarios_dir() / "test_seamless.py")
    code = _run_suite(ns)
    verdict_file = Path(ns.output) / "verdict.json"
    if code == EXIT_USAGE or not verdict_file.is_file():
        return code if code == EXIT_USAGE else EXIT_INCONCLUSIVE
    data = json.loads(verdict_file.read_text(encoding="utf-8"))
    seamless = (data.get("categories") or {}).get("seamless") or {}
    figures = (seamless.get("observed") or {}).get("series_figures") or {}
    runs = sum(int(v.get("runs") or 0) for v in figures.values())
    if not runs:
        print(
            "paywitness: no seamless figures were recorded; not a usable baseline", file=sys.stderr
        )
        return EXIT_INCONCLUSIVE
    print(
        f"paywitness: baseline recorded in {ns.output}: {runs} run(s) of {len(figures)} "
        f"scenario(s) (its own verdict, {data.get('verdict')}, does not matter for a baseline); "
        f"use it with --baseline {ns.output}"
    )
    return EXIT_PASS


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
        if ns.command == "record":
            return _record(ns)
        if ns.command == "merge":
            from paywitness.evidence.signing import load_signing_key, resolve_signing_key
            from paywitness.merge import merge_bundles

            key_path = resolve_signing_key(ns.sign)
            key = load_signing_key(key_path) if key_path else None
            return merge_bundles([Path(b) for b in ns.bundles], Path(ns.output), key)
        if ns.command == "baseline":
            return _baseline_record(ns)
        if ns.command == "report" and ns.baseline:
            _check_report_baseline(ns)
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
