"""Warnings about a valid profile that will not judge what its author expects.

Statically: noise patterns that cover the target's own hosts, required payment calls that no
allowed role can serve, a `completed_step` no purchase reaches. Against a recorded run (`--bundle`):
noise hosts the page itself reached (judged anyway), required calls never observed, artefact
fields that matched no answer. Each warning names the profile path it is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from paywitness.classify import Classifier
from paywitness.errors import ConfigError
from paywitness.ledger import FlowRecord, read_ledgers
from paywitness.patterns import host_matches
from paywitness.profile import Profile

__all__ = ["bundle_records", "profile_warnings"]

_STANDARD_STEPS = ("browse", "checkout", "pay", "confirm")


def _sample_host(pattern: str) -> str:
    """A host a pattern matches (`*.shop.com` -> `x.shop.com`), to test overlaps with."""
    if pattern == "*":
        return "x.example"
    return "x." + pattern[2:] if pattern.startswith("*.") else pattern


def _static(profile: Profile) -> list[str]:
    out: list[str] = []
    starts = [profile.start_url]
    if profile.flow is not None and profile.flow.start_url:
        starts.append(profile.flow.start_url)
    for j, noise in enumerate(profile.noise.hosts):
        for url in starts:
            host = urlsplit(url).hostname or ""
            if host_matches(noise, host):
                out.append(
                    f"noise.hosts[{j}] {noise!r} covers the start page's host {host}: the page's "
                    "requests are the target's traffic and are judged anyway; remove it"
                )
        for i, role in enumerate(profile.roles):
            for k, pattern in enumerate(role.hosts):
                if host_matches(noise, _sample_host(pattern)):
                    out.append(
                        f"noise.hosts[{j}] {noise!r} overlaps roles[{i}].hosts[{k}] {pattern!r} "
                        f"({role.name}): role rules win, so it never applies there"
                    )
    pay = profile.payment
    eps = {e.name: e for e in pay.endpoints}
    allowed_hosts = [h for r in profile.roles if r.name in pay.allowed_roles for h in r.hosts]
    for i, req in enumerate(pay.required):
        reachable = [
            n
            for n in req.any_of
            if eps[n].host is None
            or any(host_matches(eps[n].host or "", _sample_host(h)) for h in allowed_hosts)
        ]
        if not reachable:
            out.append(
                f"payment.required[{i}] ({'/'.join(req.any_of)}): its endpoints are limited to "
                f"hosts no allowed role ({', '.join(pay.allowed_roles)}) serves, so no step can "
                "reach it served by an allowed role; every completed purchase will fail payment"
            )
    if pay.required and profile.flow is not None:
        steps = (*_STANDARD_STEPS, *profile.flow.tabs)
        if pay.completed_step not in steps:
            out.append(
                f"payment.completed_step {pay.completed_step!r} is not a step of the standard "
                f"purchase ({', '.join(steps)}): no purchase it drives completes, so "
                "payment.required is never judged"
            )
    return out


def bundle_records(bundle: Path) -> list[FlowRecord]:
    """The records of a recorded run (its ledger*.jsonl files); ConfigError if there are none."""
    paths = sorted(bundle.glob("ledger*.jsonl"))
    if not paths:
        raise ConfigError(
            f"--bundle {bundle} holds no ledger*.jsonl; pass the evidence folder of a run "
            "(e.g. reports/latest)"
        )
    return read_ledgers(paths)


def _observed(profile: Profile, records: Sequence[FlowRecord]) -> list[str]:
    out: list[str] = []
    classifier = Classifier(profile)
    reported: set[tuple[str, str]] = set()
    for r in records:
        if r.kind != "client" or r.extra.get("probe") != "request":
            continue
        rule = classifier.noise_rule(r.host)
        if rule is None or classifier.role_of(r.host)[0] != "browser":
            continue
        if (rule, r.host) in reported:
            continue
        reported.add((rule, r.host))
        out.append(
            f"{rule}: the page itself requested {r.method} {r.url} (step {r.step!r}); "
            "a page's request is the target's traffic and is judged, so this entry does not "
            "hide it — list the host under a role, or remove the entry"
        )
    pay = profile.payment
    allowed = set(pay.allowed_roles)
    seen = {r.payment_class for r in records if r.kind == "http" and r.role in allowed}
    for i, req in enumerate(pay.required):
        if not seen & set(req.any_of):
            out.append(
                f"payment.required[{i}] ({'/'.join(req.any_of)}) was never observed served by "
                f"{', '.join(sorted(allowed))} in this run: no step reached it"
            )
    minted = {
        str(m.get("name"))
        for r in records
        for m in r.extra.get("artefacts_minted") or []
        if isinstance(m, dict)
    }
    for i, f in enumerate(pay.artefacts.fields):
        if f.name not in minted:
            out.append(
                f"payment.artefacts.fields[{i}] ({f.name}: {f.path}) matched no answer of "
                f"{', '.join(sorted(allowed))} in this run; check the path against a real answer"
            )
    out += _display_fields(profile, records)
    return out


def _display_fields(profile: Profile, records: Sequence[FlowRecord]) -> list[str]:
    """Expression fields that no answer of the display's endpoints carried in the run."""
    out: list[str] = []
    for i, d in enumerate(profile.displays):
        if d.expression is None:
            continue
        digests = [
            r.extra["display_digest"]
            for r in records
            if isinstance(r.extra.get("display_digest"), dict)
            and d.name in r.extra["display_digest"].get("displays", [])
        ]
        if not digests:
            continue
        seen = {k[1:] for g in digests for o in g.get("objects", []) for k in o if k[:1] == "="}
        unknown = [n for n in d.expression_fields() if n not in seen]
        if unknown:
            out.append(
                f"displays[{i}].expression {d.expression!r} reads "
                f"{', '.join(map(repr, unknown))}, which no answer of its endpoints carried "
                "in this run; check the field names against a real answer"
            )
    return out


def profile_warnings(profile: Profile, records: Sequence[FlowRecord] | None = None) -> list[str]:
    """Every warning about the profile (and, given a run's records, about what it observed)."""
    return _static(profile) + (_observed(profile, records) if records is not None else [])
