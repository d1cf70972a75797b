"""Builders for the inputs the harness's tests feed its layers: flow records (analysers, ledger,
evidence) and mitmproxy test flows (addons). One place, so a new field is added once."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from mitmproxy import http
from mitmproxy.test import tflow

from paywitness.classify import Classifier
from paywitness.ledger import FlowRecord

__all__ = ["NoteBook", "flow_record", "http_flow"]

_FIELDS = {f.name for f in dataclasses.fields(FlowRecord)}
_ids = itertools.count(1)
_clock = itertools.count(1)


def flow_record(
    host: str = "",
    path: str = "",
    method: str = "",
    *,
    kind: str = "http",
    classifier: Classifier | None = None,
    ts: float | None = None,
    duration: float = 0.0,
    step: str = "pay",
    test: str | None = None,
    **fields: Any,
) -> FlowRecord:
    """One flow record: an HTTPS request to `host` + `path` unless told otherwise.

    Any `FlowRecord` field can be given by name; other keywords go to `extra`. With a
    `classifier`, role, rule and payment class are the profile's (fields given still win). Ids
    are unique and, without `ts`, each record starts one second after the one built before it.
    """
    extra = {k: fields.pop(k) for k in list(fields) if k not in _FIELDS}
    extra = {**fields.pop("extra", {}), **extra}
    start = float(next(_clock)) if ts is None else ts
    if classifier is not None and host:
        c = classifier.classify(host, method, path)
        fields = {"role": c.role, "rule": c.rule, "payment_class": c.payment_class, **fields}
    if host:  # as the recorder writes an HTTPS flow
        fields = {"url": f"https://{host}{path}", "scheme": "https", "port": 443, **fields}
    fields.setdefault("id", f"r{next(_ids)}")
    fields.setdefault("status", 200 if kind == "http" else None)
    return FlowRecord(
        kind=kind,  # type: ignore[arg-type]
        ts_start=start,
        ts_end=start + duration,
        step=step,
        method=method,
        host=host,
        path=path,
        test=test,
        extra=extra,
        **fields,
    )


def http_flow(
    host: str,
    path: str = "/",
    method: str = "POST",
    *,
    resp: bool = True,
    content: bytes | None = None,
) -> http.HTTPFlow:
    """A mitmproxy test flow for https://`host``path` (Host header set as a browser sends it).

    `content` replaces both bodies (tflow's defaults are placeholder text). Like every tflow it
    is live: killable and interceptable as in a running proxy.
    """
    f = tflow.tflow(resp=resp)
    f.request.scheme, f.request.host, f.request.port = "https", host, 443
    f.request.path, f.request.method = path, method
    f.request.headers["host"] = host
    if content is not None:
        f.request.content = content
        if f.response is not None:
            f.response.content = content
    return f


class NoteBook:
    """What a browser-side watch needs of a record book: notes kept in a list, URLs as they are
    (for the initiator watch's tests, which read what it noted)."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []

    def mask_url(self, url: str) -> str:
        return url

    def note(self, kind: str, url: str = "", **facts: Any) -> None:
        self.notes.append({"kind": kind, "url": url, **facts})
