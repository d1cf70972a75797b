"""`flows.har`: the run's traffic as HAR 1.2, one page per scenario step.

Entries come from the masked side files that `proxy_addons/har_capture.py` writes with
mitmproxy's own HAR exporter; a ledger record without one (a standalone ledger, a flow the
capture missed) gets a minimal entry built from the record, so every HTTP flow is in the HAR.
Pages come from the ledger's step marks: mitmproxy leaves `pages` empty, Chrome DevTools and
HAR viewers group by `pageref`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from paywitness._version import __version__
from paywitness.ledger import FlowRecord, read_ledgers
from paywitness.run import LEDGER_GLOB

__all__ = [
    "HAR_ENTRIES_GLOB",
    "HAR_NAME",
    "build_har",
    "har_entries_path",
    "page_key",
    "read_har_entries",
    "validate_har",
    "write_har",
]

HAR_NAME = "flows.har"
HAR_ENTRIES_GLOB = "har-entries*.jsonl"


def har_entries_path(output: Path, worker: str) -> Path:
    name = "har-entries.jsonl" if worker == "main" else f"har-entries-{worker}.jsonl"
    return output / name


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _ip(server_addr: str | None) -> str | None:
    if not server_addr:
        return None
    if server_addr.startswith("["):
        return server_addr[1:].split("]", 1)[0]
    return server_addr.rsplit(":", 1)[0]


def page_key(test: str | None, step: str) -> tuple[str, str]:
    return (test or "", step or "unlabelled")


def read_har_entries(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Record id -> captured HAR entry (a torn last line is skipped)."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                rid = (entry.get("_paywitness") or {}).get("id")
                if rid:
                    out[str(rid)] = entry
    return out


def _minimal_entry(rec: FlowRecord) -> dict[str, Any]:
    query = [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(rec.url).query, True)]
    duration = max(0.0, (rec.ts_end - rec.ts_start) * 1000)
    return {
        "startedDateTime": _iso(rec.ts_start),
        "time": duration,
        "request": {
            "method": rec.method,
            "url": rec.url,
            "httpVersion": rec.http_version,
            "cookies": [],
            "headers": [],
            "queryString": query,
            "headersSize": -1,
            "bodySize": rec.request_size,
        },
        "response": {
            "status": rec.status or 0,
            "statusText": "",
            "httpVersion": rec.http_version if rec.status else "",
            "cookies": [],
            "headers": [],
            "content": {"size": rec.response_size, "mimeType": rec.content_type or ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": rec.response_size if rec.status else -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
        "comment": "built from the ledger (headers and bodies were not captured)",
    }


def _complete(entry: dict[str, Any], rec: FlowRecord) -> dict[str, Any]:
    """Fill what the exporter leaves out or the HAR spec requires, from the ledger record."""
    resp = entry.setdefault("response", {})
    content = resp.setdefault("content", {})
    content.setdefault("size", rec.response_size)
    content.setdefault("mimeType", rec.content_type or "")
    for key, default in (("status", 0), ("statusText", ""), ("httpVersion", "")):
        resp.setdefault(key, default)
    if rec.error:
        resp["_error"] = rec.error
    timings = entry.setdefault("timings", {})
    for key in ("send", "wait", "receive"):
        value = timings.get(key)
        timings[key] = max(0.0, float(value)) if isinstance(value, int | float) else 0.0
    entry["request"]["url"] = rec.url  # the ledger's URL: original host, already masked
    return entry


def build_har(records: Sequence[FlowRecord], captured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """HAR 1.2 log: pages from step marks (in order), every entry's `pageref` set."""
    pages: dict[tuple[str, str], dict[str, Any]] = {}
    tests = {r.test for r in records if r.test}

    def page_for(test: str | None, step: str, ts: float) -> dict[str, Any]:
        key = page_key(test, step)
        page = pages.get(key)
        if page is None:
            title = step if len(tests) <= 1 or not test else f"{step} · {test}"
            page = {
                "startedDateTime": _iso(ts),
                "id": f"page_{len(pages) + 1}",
                "title": title,
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                "_paywitness": {"step": step, "test": test},
            }
            pages[key] = page
        return page

    for rec in records:
        if rec.kind == "mark":
            page_for(rec.test, rec.step, rec.ts_start)
    entries = []
    for rec in records:
        if rec.kind != "http":
            continue
        entry = captured.get(rec.id)
        entry = _complete(entry, rec) if entry is not None else _minimal_entry(rec)
        ip = _ip(rec.server_addr)
        if ip:
            entry["serverIPAddress"] = ip
            entry["_serverAddress"] = rec.server_addr
        else:
            entry.pop("serverIPAddress", None)
        entry["pageref"] = page_for(rec.test, rec.step, rec.ts_start)["id"]
        entry["_paywitness"] = {
            "id": rec.id,
            "step": rec.step,
            "test": rec.test,
            "role": rec.role,
            "rule": rec.rule,
            "payment_class": rec.payment_class,
        }
        entries.append(entry)
    entries.sort(key=lambda e: str(e["startedDateTime"]))
    ordered = sorted(pages.values(), key=lambda p: str(p["startedDateTime"]))
    renumber = {p["id"]: f"page_{n}" for n, p in enumerate(ordered, 1)}  # ids in time order
    for p in ordered:
        p["id"] = renumber[p["id"]]
    for e in entries:
        e["pageref"] = renumber[e["pageref"]]
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "paywitness", "version": __version__},
            "browser": {"name": "", "version": ""},
            "pages": ordered,
            "entries": entries,
            "comment": "one page per scenario step; secrets and canaries masked",
        }
    }


def write_har(bundle: Path, *, browser: dict[str, str] | None = None) -> Path:
    """Build `flows.har` from the bundle's ledgers and captured entries; drop the side files."""
    side = sorted(bundle.glob(HAR_ENTRIES_GLOB))
    har = build_har(read_ledgers(sorted(bundle.glob(LEDGER_GLOB))), read_har_entries(side))
    if browser:
        har["log"]["browser"] = {
            "name": browser.get("name", ""),
            "version": browser.get("version", ""),
        }
    path = bundle / HAR_NAME
    path.write_text(json.dumps(har, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    for p in side:
        p.unlink()
    return path


# -- HAR 1.2 structure (http://www.softwareishard.com/blog/har-12-spec/) ------------------------

_NUM = (int, float)
_REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "log": {"version": (str,), "creator": (dict,), "entries": (list,)},
    "creator": {"name": (str,), "version": (str,)},
    "page": {"startedDateTime": (str,), "id": (str,), "title": (str,), "pageTimings": (dict,)},
    "entry": {
        "startedDateTime": (str,),
        "time": _NUM,
        "request": (dict,),
        "response": (dict,),
        "cache": (dict,),
        "timings": (dict,),
    },
    "request": {
        "method": (str,),
        "url": (str,),
        "httpVersion": (str,),
        "cookies": (list,),
        "headers": (list,),
        "queryString": (list,),
        "headersSize": (int,),
        "bodySize": (int,),
    },
    "response": {
        "status": (int,),
        "statusText": (str,),
        "httpVersion": (str,),
        "cookies": (list,),
        "headers": (list,),
        "content": (dict,),
        "redirectURL": (str,),
        "headersSize": (int,),
        "bodySize": (int,),
    },
    "content": {"size": (int,), "mimeType": (str,)},
    "timings": {"send": _NUM, "wait": _NUM, "receive": _NUM},
    "pair": {"name": (str,), "value": (str,)},
    "cookie": {"name": (str,), "value": (str,)},
}


def _check(obj: Any, kind: str, where: str, errors: list[str]) -> bool:
    if not isinstance(obj, dict):
        errors.append(f"{where}: expected an object")
        return False
    for key, types in _REQUIRED[kind].items():
        if key not in obj:
            errors.append(f"{where}.{key}: required")
        elif isinstance(obj[key], bool) or not isinstance(obj[key], types):
            errors.append(f"{where}.{key}: expected {'/'.join(t.__name__ for t in types)}")
    return True


def validate_har(har: Any) -> list[str]:
    """Problems with a HAR against the 1.2 structure (required keys and types); [] if valid."""
    errors: list[str] = []
    if not isinstance(har, dict) or not _check(har.get("log"), "log", "log", errors):
        return errors or ["log: required"]
    log = har["log"]
    if log.get("version") != "1.2":
        errors.append(f"log.version: expected '1.2', got {log.get('version')!r}")
    _check(log.get("creator"), "creator", "log.creator", errors)
    page_ids = set()
    for i, page in enumerate(log.get("pages", [])):
        if _check(page, "page", f"log.pages[{i}]", errors):
            page_ids.add(page.get("id"))
    for i, e in enumerate(log.get("entries", [])):
        w = f"log.entries[{i}]"
        if not _check(e, "entry", w, errors):
            continue
        if "pageref" in e and e["pageref"] not in page_ids:
            errors.append(f"{w}.pageref: {e['pageref']!r} names no page")
        if _check(e.get("request"), "request", f"{w}.request", errors):
            req = e["request"]
            for key, kind in (("headers", "pair"), ("queryString", "pair"), ("cookies", "cookie")):
                for j, item in enumerate(req.get(key) or []):
                    _check(item, kind, f"{w}.request.{key}[{j}]", errors)
        if _check(e.get("response"), "response", f"{w}.response", errors):
            resp = e["response"]
            _check(resp.get("content"), "content", f"{w}.response.content", errors)
            for key, kind in (("headers", "pair"), ("cookies", "cookie")):
                for j, item in enumerate(resp.get(key) or []):
                    _check(item, kind, f"{w}.response.{key}[{j}]", errors)
        if _check(e.get("timings"), "timings", f"{w}.timings", errors):
            for key, value in e["timings"].items():
                if isinstance(value, _NUM) and value < -1:
                    errors.append(f"{w}.timings.{key}: {value} < -1")
    return errors
