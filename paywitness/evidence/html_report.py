"""`report.html`: one self-contained page (inline CSS and SVG, no requests) a person can read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

from paywitness.evidence.scorecard import CATEGORY_TITLES, WEIGHTS, checks_text
from paywitness.ledger import FlowRecord

__all__ = ["REPORT_NAME", "render_report", "sequence_svg", "trend_svg"]

REPORT_NAME = "report.html"
_ROLE_ORDER = ("social", "commerce", "gateway", "third_party", "unknown", "browser")
_STATUS_COLOUR = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#9a6700",
    "not_judged": "#6e7781",
    "not_observed": "#9a6700",
    "warn": "#9a6700",
    "critical": "#82071e",
    "major": "#cf222e",
    "minor": "#9a6700",
    "info": "#0969da",
}
_ROLE_COLOUR = {
    "social": "#8250df",
    "commerce": "#0969da",
    "gateway": "#1a7f37",
    "third_party": "#bc4c00",
    "unknown": "#6e7781",
    "browser": "#afb8c1",
}
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;margin-top:16px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;
text-transform:uppercase;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:4px 8px;
text-align:left;vertical-align:top}th{font-weight:600;background:#f6f8fa}
.bar{background:#eaeef2;border-radius:4px;height:10px;width:160px;display:inline-block}
.bar>span{display:block;height:10px;border-radius:4px}
code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.muted{color:#656d76}.big{font-size:30px;font-weight:700}
details{margin:4px 0}summary{cursor:pointer}
svg text{font:11px ui-monospace,Menlo,monospace}
.clause{font-size:12px;color:#0550ae;margin-top:4px;max-width:360px}
"""


def _badge(status: str) -> str:
    colour = _STATUS_COLOUR.get(status, "#6e7781")
    label = escape(status.replace("_", " "))
    return f'<span class="badge" style="background:{colour}">{label}</span>'


def _pct(value: float | None) -> str:
    return "not judged" if value is None else f"{value * 100:.0f}%"


def _bar(value: float | None) -> str:
    if value is None:
        return '<span class="bar"></span>'
    colour = "#1a7f37" if value >= 1 else "#9a6700" if value >= 0.5 else "#cf222e"
    style = f"width:{value * 100:.0f}%;background:{colour}"
    return f'<span class="bar"><span style="{style}"></span></span>'


def _scorecard(card: dict[str, Any]) -> str:
    rows = []
    for name, title in CATEGORY_TITLES.items():
        r = card["categories"][name]
        weight = f"{r['weight'] * 100:.0f}%" if "weight" in r else "gate"
        rows.append(
            f"<tr><td>{escape(title)}</td><td>{weight}</td><td>{_bar(r['score'])} "
            f"{_pct(r['score'])}</td><td>{escape(checks_text(r))}</td>"
            f"<td>{_badge(r['status'])}</td></tr>"
        )
    gate = card.get("gate") or {}
    gate_html = (
        f"<p>CI gate: {_badge(gate['result'])} "
        + escape("; ".join(gate.get("reasons") or []))
        + "</p>"
        if gate
        else ""
    )
    return (
        f'<p><span class="big">{card["progress"] * 100:.0f}%</span> migration progress '
        f'<span class="muted">(weighted payment 60 / data 20 / merchant operations 20; '
        f"categories judged cover {card['weighted_coverage'] * 100:.0f}% of the weight; "
        f"not judged counts 0)</span></p>"
        f"<p>Seamless gate: {_badge(card['seamless_gate'])}</p>{gate_html}"
        "<table><tr><th>category</th><th>weight</th><th>score</th><th>checks</th>"
        f"<th>status</th></tr>{''.join(rows)}</table>"
    )


_TREND_SERIES = (
    ("progress", "progress", "#1f2328", 2.5),
    ("payment", "payment", "#0969da", 1.2),
    ("data", "data", "#8250df", 1.2),
    ("merchant_ops", "merchant ops", "#bc4c00", 1.2),
)


def trend_svg(history: Sequence[dict[str, Any]]) -> str:
    """The last runs' scorecards (history.jsonl) as a small line chart, with a table."""
    if len(history) < 2:
        return (
            '<p class="muted" id="trend">Trend: one run so far; runs that share this reports '
            "folder (history.jsonl) are charted here.</p>"
        )
    left, top, width, height = 48, 12, 420, 120
    n = len(history)

    def x(i: int) -> float:
        return left + width * i / (n - 1)

    def y(v: float) -> float:
        return top + height * (1 - v)

    parts = [
        f'<line x1="{left}" y1="{y(f)}" x2="{left + width}" y2="{y(f)}" stroke="#eaeef2"/>'
        f'<text x="{left - 6}" y="{y(f) + 4}" text-anchor="end">{f * 100:.0f}%</text>'
        for f in (0, 0.5, 1)
    ]
    legend = []
    for k, (key, label, colour, stroke) in enumerate(_TREND_SERIES):
        points = []
        for i, run in enumerate(history):
            value = run.get("progress") if key == "progress" else (run.get("scores") or {}).get(key)
            if isinstance(value, int | float):
                points.append(f"{x(i):.1f},{y(float(value)):.1f}")
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="{stroke}" '
                f'points="{" ".join(points)}" data-series="{key}"/>'
            )
        legend.append(
            f'<text x="{left + 110 * k}" y="{top + height + 44}" fill="{colour}">'
            f"— {escape(label)}</text>"
        )
    for i, run in enumerate(history):
        verdict = str(run.get("verdict"))
        parts.append(
            f'<circle class="trend-run" cx="{x(i):.1f}" cy="{top + height + 18}" r="6" '
            f'fill="{_STATUS_COLOUR.get(verdict, "#6e7781")}"><title>'
            f"{escape(str(run.get('finished') or ''))}: {escape(verdict)}, progress "
            f"{float(run.get('progress') or 0) * 100:.0f}%</title></circle>"
        )
    rows = "".join(
        f"<tr><td>{escape(str(r.get('finished') or '')[:19])}</td><td>"
        f"{_badge(str(r.get('verdict')))}</td><td>{_pct(r.get('progress'))}</td>"
        + "".join(f"<td>{_pct((r.get('scores') or {}).get(c))}</td>" for c in WEIGHTS)
        + "</tr>"
        for r in reversed(history)
    )
    heads = "".join(f"<th>{escape(CATEGORY_TITLES[c])}</th>" for c in WEIGHTS)
    return (
        f'<h3 id="trend">Trend: the last {n} runs in this reports folder</h3>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" '
        f'height="{top + height + 56}" role="img" aria-label="scorecard trend">'
        + "".join(parts + legend)
        + "</svg><details><summary>runs</summary><table><tr><th>finished</th><th>verdict</th>"
        f"<th>progress</th>{heads}</tr>{rows}</table></details>"
    )


def _short(rec: FlowRecord, width: int = 58) -> str:
    parts = urlsplit(rec.url)
    text = f"{rec.method} {parts.hostname or rec.host}{parts.path}"
    return text if len(text) <= width else text[: width - 1] + "…"


def sequence_svg(records: Sequence[FlowRecord]) -> str:
    """Sequence diagram: the buyer's browser (storefront) -> the role each request reached."""
    flows = [r for r in records if r.kind in ("http", "link", "websocket") and r.role != "browser"]
    roles = [r for r in _ROLE_ORDER if any(f.role == r for f in flows)]
    if not flows:
        return '<p class="muted">No target traffic was recorded.</p>'
    # Collapse repeats within a step: one arrow per (step, kind, role, method, host+path).
    rows: list[tuple[str, FlowRecord, int]] = []
    index: dict[tuple[str, str, str, str], int] = {}
    for f in flows:
        key = (f"{f.test}|{f.step}", f.role, f.kind, _short(f))
        if key in index:
            step, first, n = rows[index[key]]
            rows[index[key]] = (step, first, n + 1)
        else:
            index[key] = len(rows)
            rows.append((f.step, f, 1))
    left, col, top, row_h = 140, 190, 50, 20
    xs = {role: left + col * (i + 1) for i, role in enumerate(roles)}
    width = left + col * (len(roles) + 1)
    step_bands: list[str] = []
    arrows: list[str] = []
    y = top
    current = None
    for step, f, n in rows:
        if step != current:
            current = step
            y += 8
            step_bands.append(
                f'<rect x="0" y="{y - 4}" width="{width}" height="18" fill="#f6f8fa"/>'
                f'<text x="6" y="{y + 9}" font-weight="bold">{escape(step)}</text>'
            )
            y += row_h
        x2 = xs[f.role]
        pay = f.payment_class is not None
        colour = "#cf222e" if pay and f.role == "social" else _ROLE_COLOUR.get(f.role, "#6e7781")
        dash = ' stroke-dasharray="4 3"' if f.kind == "link" else ""
        width_px = 2.5 if pay else 1.2
        label = ("PAY " if pay else "") + _short(f) + (f"  (x{n})" if n > 1 else "")
        status = f" → {f.status}" if f.status else (" ✗" if f.error else "")
        arrows.append(
            f'<line x1="{left}" y1="{y}" x2="{x2 - 4}" y2="{y}" stroke="{colour}" '
            f'stroke-width="{width_px}" marker-end="url(#arrow)"{dash}>'
            f"<title>{escape(f.url)} [{escape(f.role)}; {escape(f.rule)}]</title></line>"
            f'<text x="{left + 6}" y="{y - 3}" fill="{colour}">'
            f"{escape(label + status)}</text>"
        )
        y += row_h
    height = y + 10
    heads = [f'<text x="{left}" y="20" text-anchor="middle" font-weight="bold">storefront</text>']
    heads.append(f'<text x="{left}" y="34" text-anchor="middle" class="muted">(browser)</text>')
    lines = [f'<line x1="{left}" y1="40" x2="{left}" y2="{height}" stroke="#57606a"/>']
    for role, x in xs.items():
        colour = _ROLE_COLOUR.get(role, "#6e7781")
        heads.append(
            f'<text x="{x}" y="20" text-anchor="middle" font-weight="bold" fill="{colour}">'
            f"{escape(role)}</text>"
        )
        lines.append(
            f'<line x1="{x}" y1="40" x2="{x}" y2="{height}" stroke="{colour}" '
            'stroke-dasharray="2 4"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="requests by step and role">'
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
        'markerUnits="userSpaceOnUse" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="context-stroke"/></marker></defs>'
        + "".join(step_bands + lines + heads + arrows)
        + "</svg>"
    )


def _figures(figures: dict[str, Any]) -> str:
    if not figures:
        return ""
    cells = []
    for key, value in figures.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if len(text) > 300:
            text = text[:299] + "…"
        mark = ' style="font-weight:600"' if "threshold" in key or "limit" in key else ""
        cells.append(f"<tr><td{mark}>{escape(key)}</td><td><code>{escape(text)}</code></td></tr>")
    return f"<table>{''.join(cells)}</table>"


def _clause(clause: dict[str, Any] | None) -> str:
    """A check's legal clause, its wording on hover and below."""
    if not clause:
        return ""
    text = str(clause.get("text") or "")
    quote = f'<br><span class="muted">“{escape(text)}”</span>' if text else ""
    return (
        f'<div class="clause" title="{escape(text)}">§ {escape(str(clause["clause"]))}{quote}</div>'
    )


def _checks(verdict: dict[str, Any], regulation: dict[str, Any] | None = None) -> str:
    out = []
    law = regulation or {}
    for name, cat in (verdict.get("categories") or {}).items():
        title = CATEGORY_TITLES.get(name, name)
        rows = "".join(
            f"<tr><td>{_badge(ch['status'])}</td><td><code>{escape(ch['id'])}</code>"
            f"{'' if ch.get('required', True) else ' <span class=muted>(optional)</span>'}"
            f"{_clause(law.get(ch['id']) or law.get(name))}"
            f"</td><td>{escape(ch['summary'])}{_figures(ch.get('figures') or {})}</td></tr>"
            for ch in cat.get("checks") or []
        )
        observed = _figures(cat.get("observed") or {})
        out.append(
            f"<h3>{escape(title)} {_badge(cat.get('status', 'not_judged'))}</h3>"
            f"<table>{rows}</table>"
            + (f"<details><summary>observed</summary>{observed}</details>" if observed else "")
        )
    return "".join(out) or '<p class="muted">No checks.</p>'


def _findings(verdict: dict[str, Any]) -> str:
    findings = verdict.get("findings") or []
    if not findings:
        return '<p class="muted">No findings.</p>'
    out = []
    for f in findings:
        ev_rows = "".join(
            "<tr>"
            + "".join(
                f"<td><code>{escape(str(ev.get(k, '')))}</code></td>"
                for k in ("step", "method", "url", "role", "status", "flow_id")
            )
            + "</tr>"
            for ev in f.get("evidence") or []
        )
        table = (
            "<table><tr><th>step</th><th>method</th><th>url</th><th>role</th><th>status</th>"
            f"<th>flow</th></tr>{ev_rows}</table>"
            if ev_rows
            else ""
        )
        out.append(
            f"<div><p>{_badge(f.get('severity', 'info'))} <b>{escape(f.get('category', ''))}</b> "
            f"<code>{escape(f.get('rule_id', ''))}</code>: {escape(f.get('message', ''))}</p>"
            f"{table}</div>"
        )
    return "".join(out)


def _meta(run: dict[str, Any]) -> str:
    keys = (
        "version",
        "git",
        "profile",
        "target",
        "seed",
        "started",
        "finished",
        "browsers",
        "proxy_ca",
        "violations",
        "command",
        "rejudged",
    )
    return _figures({k: run[k] for k in keys if k in run})


def _chain(chain: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li><code>{escape(str(c.get('subject')))}</code> issued by "
        f"<code>{escape(str(c.get('issuer')))}</code><br><span class=muted>SPKI SHA-256 "
        f"<code>{escape(str(c.get('spki_sha256')))}</code>; valid "
        f"{escape(str(c.get('not_before', ''))[:10])} to {escape(str(c.get('not_after', ''))[:10])}"
        "</span></li>"
        for c in chain
    )
    return f"<ol>{items}</ol>"


def _provenance(run: dict[str, Any]) -> str:
    """How this was recorded: tools, command, seed, profile, proxy CA, and each host reached."""
    prov = run.get("provenance") or {}
    versions = prov.get("versions") or {}
    profile = run.get("profile") or {}
    facts: list[tuple[str, str]] = [
        (name, ", ".join(v) if isinstance(v, list) else str(v)) for name, v in versions.items() if v
    ]
    facts += [
        ("command line", " ".join(str(a) for a in run.get("command") or [])),
        ("seed", str(run.get("seed", ""))),
        ("profile", f"{profile.get('name', '')} (SHA-256 {profile.get('sha256', '')})"),
        ("run id", str(run.get("run_id") or "")),
        ("shard", str(run.get("shard") or "")),
    ]
    facts += [
        ("proxy CA", f"{ca.get('subject')} (SHA-256 {ca.get('sha256')})")
        for ca in run.get("proxy_ca") or []
    ]
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in facts if v
    )
    hosts = prov.get("hosts") or {}
    host_rows = "".join(
        f"<tr><td><code>{escape(host)}</code><br><span class=muted>"
        f"{escape(', '.join(h.get('roles') or []))} · {h.get('flows', 0)} flows</span></td>"
        f"<td><code>{escape(', '.join(h.get('addresses') or []))}</code></td>"
        f"<td>{escape(', '.join(h.get('http_versions') or []))}"
        f"<br>{escape(', '.join(h.get('tls') or []))}</td>"
        f"<td>{''.join(_chain(c) for c in h.get('chains') or []) or 'plain HTTP or not seen'}</td>"
        "</tr>"
        for host, h in hosts.items()
    )
    host_table = (
        "<table><tr><th>host</th><th>addresses dialled</th><th>HTTP / TLS</th>"
        f"<th>certificate chain presented upstream</th></tr>{host_rows}</table>"
        if host_rows
        else '<p class="muted">No host was reached.</p>'
    )
    return (
        '<section id="provenance"><h2>How this was recorded</h2>'
        '<p class="muted">The tools and versions that recorded this run, how it was started, '
        "and for each host the browser reached through the proxy: the server addresses actually "
        "dialled, the protocol versions and the certificate chain the upstream server presented "
        f"(not the proxy's).</p><table>{rows}</table><h3>Hosts reached</h3>{host_table}"
        "</section>"
    )


def _identities(verdict: dict[str, Any]) -> str:
    """Per role, the upstream identities that answered it: one operator behind two roles shows."""
    observed = ((verdict.get("categories") or {}).get("payment") or {}).get("observed") or {}
    table = observed.get("identities_by_role") or {}
    if not table:
        return ""
    rows = "".join(
        f"<tr><td><b>{escape(role)}</b></td>"
        f"<td>{escape(str(i.get('organization') or '(none)'))}</td>"
        f"<td>{escape(str(i.get('issuer') or ''))}</td>"
        f"<td><code>{escape(str(i.get('spki_sha256') or '')[:16])}</code></td>"
        f"<td><code>{escape(', '.join(i.get('hosts') or []))}</code></td>"
        f"<td><code>{escape(', '.join(i.get('addresses') or []))}</code></td>"
        f"<td>{i.get('flows', 0)}</td></tr>"
        for role, ids in table.items()
        for i in ids
    )
    return (
        '<section id="identities"><h2>Who answered, per role</h2>'
        '<p class="muted">The identities the servers of each role presented upstream (leaf '
        "certificate organisation, issuer, public key), side by side: one identity under two "
        "roles means one operator behind both names (<code>payment.identity-shared</code>).</p>"
        "<table><tr><th>role</th><th>organisation</th><th>issuer</th><th>SPKI SHA-256</th>"
        f"<th>hosts</th><th>addresses dialled</th><th>flows</th></tr>{rows}</table></section>"
    )


def _combinations(verdict: dict[str, Any]) -> str:
    """Scenario outcomes grouped by payment method, device and locale."""
    combos = (verdict.get("meta") or {}).get("combinations") or {}
    if not combos:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(combo))}</td><td>"
        + escape(", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
        + "</td></tr>"
        for combo, counts in sorted(combos.items())
    )
    return (
        "<section><h2>Scenarios by combination</h2>"
        "<table><tr><th>method · device · locale</th><th>outcome</th></tr>"
        f"{rows}</table></section>"
    )


def render_report(
    verdict: dict[str, Any],
    card: dict[str, Any],
    run: dict[str, Any],
    records: Sequence[FlowRecord],
    *,
    notice: str | None = None,
    history: Sequence[dict[str, Any]] = (),
    regulation: dict[str, Any] | None = None,
    screens: str = "",
) -> str:
    """The whole page; every value escaped, nothing loaded from anywhere. `notice` (e.g. an
    unverified re-judgement) is shown as a banner above everything; `regulation` (category or
    check id -> clause) is the judging profile's, else run.json's; `screens` is the seamless
    screens section, built from the bundle's pictures as data: URIs."""
    from paywitness.seamless.report import waiver_lines

    waivers = "".join(f"<li>{escape(w)}</li>" for w in waiver_lines(verdict))
    reasons = "".join(f"<li>{escape(r)}</li>" for r in verdict.get("reasons") or [])
    law = regulation or run.get("regulation")
    target = escape(str(run.get("target") or (verdict.get("meta") or {}).get("target") or ""))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>paywitness: {escape(str(verdict.get('verdict')))}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        + (
            f'<p style="background:#82071e;color:#fff;padding:10px;border-radius:6px">'
            f"<b>{escape(notice)}</b></p>"
            if notice
            else ""
        )
        + f"<h1>paywitness {_badge(str(verdict.get('verdict')))}</h1>"
        f'<p class="muted">target {target} · seed {escape(str(run.get("seed", "")))} · '
        f"{escape(str(run.get('started', '')))} → {escape(str(run.get('finished', '')))}</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + (f"<p>Seamless checks waived by the profile:</p><ul>{waivers}</ul>" if waivers else "")
        + f"<section><h2>Scorecard</h2>{_scorecard(card)}{trend_svg(history)}</section>"
        f"<section><h2>Timeline: which back end each request reached</h2>"
        '<p class="muted">Thick arrows are payment-class requests; dashed arrows are links '
        "shown to the buyer; hover for the full (masked) URL.</p>"
        f'<div style="overflow-x:auto">{sequence_svg(records)}</div></section>'
        + _combinations(verdict)
        + f"<section><h2>Findings</h2>{_findings(verdict)}</section>"
        f"<section><h2>Checks and figures</h2>{_checks(verdict, law)}</section>"
        + screens
        + _identities(verdict)
        + _provenance(run)
        + f"<section><h2>Run</h2>{_meta(run)}</section>"
        "</main></body></html>\n"
    )
