"""TLS failures: a client that refused the proxy's certificate leaves a `tls` ledger record.

A pinned app (or a phone without the run's CA installed) never lets the proxy see its traffic;
the record says which host was not inspected, so the verdict can say so instead of judging on
missing traffic.

Standalone (next to the recorder): mitmdump -s proxy_addons/backend_recorder.py \
    -s proxy_addons/tls_failures.py --set paywitness_ledger=run.jsonl
"""

from __future__ import annotations

import time

from mitmproxy import ctx, tls

from paywitness.records import RecordBook
from proxy_addons.backend_recorder import BackendRecorder

__all__ = ["TlsFailures"]


class TlsFailures:
    """Writes one `tls` record per failed client handshake, with the role of the host."""

    def __init__(self, book: RecordBook | None = None) -> None:
        self.book = book

    def _book(self) -> RecordBook | None:
        if self.book is None:  # standalone: the recorder loaded next to us keeps the ledger
            found = ctx.master.addons.get("backendrecorder")
            self.book = found.book if isinstance(found, BackendRecorder) else None
        return self.book

    def tls_failed_client(self, data: tls.TlsData) -> None:
        book = self._book()
        if book is None:
            return
        client = data.context.client
        server = data.context.server
        host = (client.sni or (server.address[0] if server.address else "") or "").lower()
        port = server.address[1] if server.address else 443
        # What is knowable without decryption: the name the client asked for (SNI), where it
        # asked to go (the CONNECT target or the transparent destination), where the proxy
        # dialled if it had (lazy: usually not yet), who the client was and what it offered.
        requested = _address(server.address)
        book.note(
            "tls",
            f"https://{host}:{port}/" if host else "",
            host=host,
            ts_start=client.timestamp_start or time.time(),
            method="TLS",
            scheme="https",
            port=int(port),
            server_addr=_address(server.peername),
            error=str(data.conn.error or "client TLS handshake failed"),
            extra={
                "side": "client",
                "sni": client.sni,
                "requested": requested,
                "client": _address(client.peername),
                "alpn_offers": [a.decode("ascii", "replace") for a in client.alpn_offers or ()],
                "transport": client.transport_protocol,
            },
        )


def _address(addr: tuple[str, int] | tuple[str, int, int, int] | None) -> str | None:
    if not addr:
        return None
    host = str(addr[0])
    return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"


addons = [TlsFailures()]
