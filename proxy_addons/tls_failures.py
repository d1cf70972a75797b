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

from paywitness.ledger import FlowRecord
from proxy_addons.backend_recorder import BackendRecorder

__all__ = ["TlsFailures"]


class TlsFailures:
    """Writes one `tls` record per failed client handshake, with the role of the host."""

    def __init__(self, recorder: BackendRecorder | None = None) -> None:
        self.recorder = recorder

    def _recorder(self) -> BackendRecorder | None:
        if self.recorder is None:
            found = ctx.master.addons.get("backendrecorder")
            self.recorder = found if isinstance(found, BackendRecorder) else None
        return self.recorder

    def tls_failed_client(self, data: tls.TlsData) -> None:
        recorder = self._recorder()
        if recorder is None:
            return
        client = data.context.client
        server = data.context.server
        host = (client.sni or (server.address[0] if server.address else "") or "").lower()
        port = server.address[1] if server.address else 443
        role, rule = recorder.classifier.role_of(host) if recorder.classifier else ("unknown", "")
        now = time.time()
        recorder.write(
            FlowRecord(
                id=recorder.next_id(),
                kind="tls",
                ts_start=client.timestamp_start or now,
                ts_end=now,
                step=recorder.step,
                method="TLS",
                url=f"https://{host}:{port}/" if host else "",
                scheme="https",
                host=host,
                port=int(port),
                role=role,
                rule=rule,
                error=str(data.conn.error or "client TLS handshake failed"),
                worker=recorder.worker,
                test=recorder.test,
                extra={"side": "client", "sni": client.sni},
            )
        )


addons = [TlsFailures()]
