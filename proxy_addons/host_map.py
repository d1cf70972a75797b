"""Host map: send requests for a target's names to the address that serves them, Host kept.

Like curl's `--resolve`, through the proxy: the browser asks for `https://shop.social.test/`, the
proxy dials `https://127.0.0.1:PORT` and sends the original Host header and TLS SNI.

Standalone: mitmdump -s proxy_addons/host_map.py \
    --set paywitness_host_map=shop.social.test=http://127.0.0.1:8001 \
    --set paywitness_block_unmapped=true
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

from paywitness.classify import MARKER_HOST
from paywitness.patterns import compile_host_pattern, host_matches

__all__ = ["HostMap", "MapEntry", "parse_host_map"]


# A NamedTuple, not a dataclass: mitmdump loads scripts outside sys.modules, which dataclasses
# with postponed annotations cannot handle.
class MapEntry(NamedTuple):
    pattern: str
    scheme: str
    host: str
    port: int


def parse_host_map(entries: Sequence[str]) -> list[MapEntry]:
    """Parse `HOST=SCHEME://IP:PORT` entries; ValueError names the bad entry and the fix."""
    out = []
    for raw in entries:
        for entry in filter(None, (e.strip() for e in raw.split(","))):
            name, sep, target = entry.partition("=")
            if not sep:
                raise ValueError(
                    f"host map entry {entry!r} has no '=' (expected HOST=SCHEME://ADDRESS:PORT)"
                )
            try:
                compile_host_pattern(name)
            except ValueError as e:
                raise ValueError(f"host map entry {entry!r}: {e}") from e
            u = urlsplit(target)
            if u.scheme not in ("http", "https") or not u.hostname or u.port is None:
                raise ValueError(
                    f"host map entry {entry!r}: {target!r} is not SCHEME://ADDRESS:PORT "
                    "(e.g. https://127.0.0.1:8443)"
                )
            out.append(MapEntry(name.lower(), u.scheme, u.hostname, u.port))
    return out


class HostMap:
    """Rewrites the dialled address of mapped hosts; answers unmapped hosts locally if asked."""

    def __init__(self) -> None:
        self.entries: list[MapEntry] = []
        self.block_unmapped = False
        self._sni: dict[tuple[str, int], str] = {}

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "paywitness_host_map",
            Sequence[str],
            [],
            "Map target hosts to addresses: HOST=SCHEME://ADDRESS:PORT (HOST may be *.domain)",
        )
        loader.add_option(
            "paywitness_block_unmapped",
            bool,
            False,
            "Answer requests to hosts outside the map with 502 instead of dialling them",
        )

    def configure(self, updated: set[str]) -> None:
        if "paywitness_host_map" in updated:
            try:
                self.entries = parse_host_map(ctx.options.paywitness_host_map)
            except ValueError as e:
                raise exceptions.OptionsError(str(e)) from e
        if "paywitness_block_unmapped" in updated:
            self.block_unmapped = bool(ctx.options.paywitness_block_unmapped)

    def lookup(self, host: str) -> MapEntry | None:
        for e in self.entries:
            if host_matches(e.pattern, host):
                return e
        return None

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        name = flow.request.pretty_host.lower()
        if name == MARKER_HOST:
            return
        target = self.lookup(name)
        if target is None:
            if self.block_unmapped:
                flow.metadata["paywitness.blocked"] = True
                flow.response = http.Response.make(
                    502,
                    b"paywitness: this host is not part of the target; not dialled\n",
                    {"content-type": "text/plain"},
                )
            return
        host_header = flow.request.host_header
        flow.request.scheme = target.scheme
        flow.request.host = target.host
        flow.request.port = target.port
        flow.request.host_header = host_header
        flow.metadata["paywitness.mapped_to"] = f"{target.scheme}://{target.host}:{target.port}"
        self._sni[(target.host, target.port)] = name

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        # The dialled address is an IP; present the original name for SNI and cert checks.
        addr = data.server.address
        if addr is not None and (addr[0], addr[1]) in self._sni:
            data.server.sni = self._sni[(addr[0], addr[1])]


addons = [HostMap()]
