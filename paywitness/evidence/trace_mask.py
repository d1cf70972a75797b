"""Masking of Playwright traces: the canaries a buyer typed are in DOM snapshots and bodies."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["mask_trace"]

# Members that are images stay as they are; everything else that decodes as UTF-8 is masked.
_BINARY_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp", ".gif", ".woff", ".woff2", ".ttf", ".ico")


def _mask_json(value: Any, mask_text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [_mask_json(v, mask_text) for v in value]
    if isinstance(value, dict):
        return {k: _mask_json(v, mask_text) for k, v in value.items()}
    return value  # numbers (timestamps look like card numbers) stay numbers


def _mask_member(name: str, text: str, mask_text: Callable[[str], str]) -> str:
    """JSON and JSON lines keep their structure: only string values are masked."""
    if name.endswith((".trace", ".network", ".json")):
        lines = []
        for line in text.splitlines(keepends=True):
            try:
                doc = json.loads(line)
            except ValueError:
                lines.append(mask_text(line))
                continue
            end = "\n" if line.endswith("\n") else ""
            lines.append(json.dumps(_mask_json(doc, mask_text), separators=(",", ":")) + end)
        return "".join(lines)
    return mask_text(text)


def mask_trace(path: Path, mask_text: Callable[[str], str]) -> int:
    """Rewrite a trace zip with every text member masked; returns how many members changed."""
    tmp = path.with_name(path.name + ".masking")
    changed = 0
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if not info.filename.lower().endswith(_BINARY_SUFFIXES):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is not None:
                    masked = _mask_member(info.filename.lower(), text, mask_text)
                    if masked != text:
                        data = masked.encode("utf-8")
                        changed += 1
            dst.writestr(info, data)
    os.replace(tmp, path)
    return changed
