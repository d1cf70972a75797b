"""HTML templates shipped in ``paywitness/demo/static`` and a tiny ``{{KEY}}`` renderer."""

from __future__ import annotations

import functools
import html
import json
import re
from importlib import resources
from typing import Any

from aiohttp import web

__all__ = ["html_page", "idr", "render", "to_script_json"]

_PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")


@functools.cache
def _template(name: str) -> str:
    return resources.files("paywitness.demo").joinpath("static", name).read_text("utf-8")


def to_script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def render(name: str, **values: Any) -> str:
    """Fill ``{{KEY}}``: ``*_JSON`` keys become script JSON, ``*_HTML`` are raw, others escaped."""
    template = _template(name)

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {name} needs {key}")
        value = values[key]
        if key.endswith("_JSON"):
            return to_script_json(value)
        if key.endswith("_HTML"):
            return str(value)
        return html.escape(str(value))

    return _PLACEHOLDER.sub(fill, template)


def html_page(name: str, status: int = 200, **values: Any) -> web.Response:
    return web.Response(
        text=render(name, **values),
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def idr(amount: int) -> str:
    """Rupiah the Indonesian way: ``Rp189.000``."""
    return "Rp" + f"{amount:,}".replace(",", ".")
