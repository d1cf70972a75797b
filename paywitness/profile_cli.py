"""`paywitness profile schema|check|init`: the documented profile, validated and explained."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from paywitness.errors import ConfigError
from paywitness.profile import Profile, load_profile

__all__ = ["add_profile_parser", "explain_profile", "profile_main", "profile_schema"]


def profile_schema() -> str:
    """The JSON Schema of profiles, generated from the models (docs/profile.schema.json)."""
    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "paywitness target profile"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def starter_profile() -> str:
    """The commented starter profile `paywitness profile init` writes."""
    return resources.files("paywitness").joinpath("templates/profile.yaml").read_text("utf-8")


def explain_profile(profile: Profile) -> str:
    """What a profile covers, in words: roles, identities, overrides, endpoints, methods."""
    lines = [f"profile {profile.name!r} (version {profile.version}): valid"]
    lines.append(f"  start: {profile.start_url}")
    lines.append("  roles (first matching host pattern wins):")
    for role in profile.roles:
        lines.append(f"    {role.name:<11} hosts {', '.join(role.hosts)}")
        ident = role.identity
        if ident is not None:
            parts = []
            if ident.organizations:
                parts.append(f"certificate organisation in {ident.organizations}")
            if ident.networks:
                parts.append(f"address in {', '.join(ident.networks)}")
            parts += [f"header {k}: {v}" for k, v in ident.headers.items()]
            how = "required" if ident.require else "attributes by identity"
            lines.append(f"    {'':<11} identity ({how}): {'; '.join(parts)}")
    if profile.host_overrides:
        lines.append("  host overrides (the proxy dials these instead):")
        lines += [f"    {h} -> {t}" for h, t in profile.host_overrides.items()]
    pay = profile.payment
    lines.append(
        f"  payment-class endpoints (may only be served by {', '.join(pay.allowed_roles)}; "
        f"at least {pay.minimum_flows} needed to judge):"
    )
    for ep in pay.endpoints:
        on = f" on {ep.host}" if ep.host else " on any host"
        lines.append(f"    {ep.name:<16} {ep.method} {ep.path}{on}")
    if profile.noise.hosts:
        lines.append(f"  browser noise (ignored): {', '.join(profile.noise.hosts)}")
    cov = profile.coverage
    lines.append(
        "  coverage: "
        + (
            f"payment-class >= {cov.payment_class:.0%}, overall >= {cov.overall:.0%} "
            "of the browser's own requests seen by the proxy"
            if cov.enabled
            else "not checked"
        )
    )
    if profile.flow is None:
        lines.append("  flow: none (scenarios must drive the purchase in Python)")
    else:
        methods = ", ".join(
            f"{n} ({m.expect}{', instrument ' + m.instrument if m.instrument else ''})"
            for n, m in profile.flow.methods.items()
        )
        if profile.flow.steps is not None:
            marked = [st.moment for st in profile.flow.steps if st.moment]
            lines.append(
                f"  flow: {len(profile.flow.steps)} steps; moments {', '.join(marked) or 'none'}"
            )
        else:
            lines.append(f"  flow: fields {', '.join(profile.flow.fields)}")
        lines.append(f"  payment methods: {methods}")
    b = profile.browser.model_dump(exclude_none=True)
    if b:
        lines.append(f"  browser: {', '.join(f'{k} {v}' for k, v in b.items())}")
    for rule in profile.resilience:
        lines.append(f"  resilience {rule.name}: {'; '.join(rule.faults)} -> {rule.expect}")
    return "\n".join(lines)


def add_profile_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `paywitness profile ...`."""
    prof = sub.add_parser("profile", help="Print the profile schema, check or start a profile")
    psub = prof.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    psub.add_parser("schema", help="Print the JSON Schema of profiles")
    check = psub.add_parser("check", help="Validate a profile and explain what it covers")
    check.add_argument("path", metavar="PROFILE", help="Target profile (YAML)")
    check.add_argument(
        "--bundle",
        type=Path,
        default=None,
        metavar="RUN",
        help="Also warn about what a recorded run (its evidence folder) observed",
    )
    init = psub.add_parser("init", help="Write a commented starter profile")
    init.add_argument(
        "path", nargs="?", default="paywitness-profile.yaml", metavar="PATH", help="Where to write"
    )
    init.add_argument("--force", action="store_true", help="Overwrite an existing file")


def profile_main(ns: argparse.Namespace) -> int:
    """Run a `paywitness profile` action; ConfigError (exit 2) on a bad profile or path."""
    if ns.profile_command == "schema":
        print(profile_schema(), end="")
        return 0
    if ns.profile_command == "check":
        from paywitness.profile_lint import bundle_records, profile_warnings

        profile = load_profile(ns.path)
        records = bundle_records(ns.bundle) if getattr(ns, "bundle", None) else None
        print(explain_profile(profile))
        for warning in profile_warnings(profile, records):
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    path = Path(ns.path)
    if path.exists() and not ns.force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it or choose another path")
    try:
        path.write_text(starter_profile(), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from e
    print(f"wrote {path}; edit it, then: paywitness profile check {path}")
    return 0
