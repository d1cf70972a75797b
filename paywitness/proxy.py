"""mitmproxy in-process: one Master on a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import logging
import threading
import types
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from paywitness.errors import ConfigError

__all__ = [
    "LIBRARY_WARNINGS",
    "ProxyRunner",
    "is_loopback",
    "quiet_library_warnings",
    "spki_sha256_b64",
]

#: Deprecation notices mitmproxy 11's own code triggers in its dependencies, on every TLS
#: connection (pyOpenSSL objects handed to pyOpenSSL) or on import (ldap3, passlib): nothing a
#: paywitness user can act on. As (message regex, category, module regex) — only these.
LIBRARY_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    (r"Passing pyOpenSSL (X509|PKey) objects is deprecated", DeprecationWarning, r"mitmproxy\."),
    (r"(tagMap|typeMap) is deprecated", DeprecationWarning, r"ldap3\."),
    (r"'crypt' is deprecated", DeprecationWarning, r"passlib\."),
)

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 2.0


def is_loopback(host: str) -> bool:
    """True for a listen address only this machine can reach ("" means every interface)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def spki_sha256_b64(cert_pem: Path) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's SPKI trust list)."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def quiet_library_warnings() -> None:
    """Ignore exactly `LIBRARY_WARNINGS` (by message, category and module), nothing else."""
    for message, category, module in LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def _quiet_cancelled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel connection handlers still open at shutdown (what asyncio.run does), bounded."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if pending:
        # Python 3.11's StreamReaderProtocol reports each cancelled connection task as an
        # error (a CancelledError traceback per connection a phone left open; 3.12 closes it
        # quietly): cancelling is the intended way out here, so only that case is silenced.
        loop.set_exception_handler(_quiet_cancelled)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=_STOP_TIMEOUT))


_CTX_NAMES = ("master", "options", "log")
_CTX_LOCAL = threading.local()


class _PerThreadCtx(types.ModuleType):
    """`mitmproxy.ctx` with its master, options and log kept per thread.

    mitmproxy keeps the running master in these module globals and gives every new client
    connection the master found there, so a second in-process proxy took the first one's
    connections (its addons saw every flow; the first's recorder none). Each `ProxyRunner` runs
    its master on a thread of its own, which is where the master sets and reads them; a thread
    that never set one (a helper thread) reads the last value set anywhere, as before.
    """


def _last_set(name: str) -> str:
    """Where the module keeps the value last set from any thread (what other threads read)."""
    return f"_paywitness_last_{name}"


def _per_thread(name: str) -> property:
    fallback = _last_set(name)

    def get(module: types.ModuleType) -> Any:
        try:
            return getattr(_CTX_LOCAL, name)
        except AttributeError:
            pass
        try:
            return module.__dict__[fallback]
        except KeyError:
            raise AttributeError(f"module 'mitmproxy.ctx' has no attribute {name!r}") from None

    def set_(module: types.ModuleType, value: Any) -> None:
        setattr(_CTX_LOCAL, name, value)
        module.__dict__[fallback] = value

    return property(get, set_)


for _name in _CTX_NAMES:
    setattr(_PerThreadCtx, _name, _per_thread(_name))


def _ctx_per_thread() -> None:
    """Make `mitmproxy.ctx` per thread (once a process; the module object stays the same, so
    every `from mitmproxy import ctx` already made sees it)."""
    import mitmproxy.ctx as mctx

    if isinstance(mctx, _PerThreadCtx):
        return
    for name in _CTX_NAMES:  # a master made before: the value other threads keep reading
        if name in mctx.__dict__:
            mctx.__dict__[_last_set(name)] = mctx.__dict__.pop(name)
    mctx.__class__ = _PerThreadCtx


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Ready:
    """Addon that tells the starting thread when the proxy servers are up."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def running(self) -> None:
        self.event.set()


class ProxyRunner:
    """Start/stop an intercepting proxy with our addons; the CA lives in a per-run confdir."""

    def __init__(
        self,
        addons: Sequence[Any],
        *,
        confdir: Path,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.addons = list(addons)
        self.confdir = confdir
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.options = dict(options or {})
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master: Any = None
        self._failure: BaseException | None = None

    @property
    def ca_cert_path(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def ca_spki(self) -> str:
        return spki_sha256_b64(self.ca_cert_path)

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("proxy not started")
        return f"http://{self.listen_host}:{self.port}"

    def start(self) -> None:
        quiet_library_warnings()  # before mitmproxy's imports: ldap3 warns as it loads
        from mitmproxy import options as mopts
        from mitmproxy.addons import (
            core,
            disable_h2c,
            dns_resolver,
            next_layer,
            proxyauth,
            proxyserver,
            tlsconfig,
        )
        from mitmproxy.master import Master

        _ctx_per_thread()  # before the master sets it: each proxy its own
        if not is_loopback(self.listen_host) and not self.options.get("proxyauth"):
            # Anyone on the network could use an open proxy (and move the run's steps).
            raise ConfigError(
                f"refusing to listen on {self.listen_host or 'every interface'} without proxy "
                "authentication; set the proxyauth option (user:password) or listen on 127.0.0.1"
            )
        self.confdir.mkdir(parents=True, exist_ok=True)
        ready = _Ready()
        errors = _ErrorCollector()
        mlog = logging.getLogger("mitmproxy")
        mlog.addHandler(errors)
        started = threading.Event()

        async def main() -> None:
            opts = mopts.Options(
                listen_host=self.listen_host,
                listen_port=self.listen_port,
                confdir=str(self.confdir),
            )
            master = Master(opts)
            master.addons.add(
                core.Core(),
                proxyauth.ProxyAuth(),
                proxyserver.Proxyserver(),
                dns_resolver.DnsResolver(),
                next_layer.NextLayer(),
                tlsconfig.TlsConfig(),
                disable_h2c.DisableH2C(),
                *self.addons,
                ready,
            )
            # Addon options exist only once the addons are added.
            master.options.update(connection_strategy="lazy", upstream_cert=False, **self.options)
            self._master = master
            started.set()
            await master.run()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(main())
            except BaseException as e:  # reported to the starting thread
                self._failure = e
            finally:
                started.set()
                ready.event.set()
                _cancel_pending(loop)
                loop.close()

        self._thread = threading.Thread(target=run, name="paywitness-proxy", daemon=True)
        self._thread.start()
        try:
            if not ready.event.wait(_START_TIMEOUT):
                raise ConfigError(
                    f"the proxy did not start within {_START_TIMEOUT:.0f} s on "
                    f"{self.listen_host}:{self.listen_port}"
                )
            if self._failure is not None:
                raise ConfigError(f"the proxy could not start: {self._failure}") from self._failure
            from mitmproxy.addons.proxyserver import Proxyserver

            ps = self._master.addons.get("proxyserver")
            assert isinstance(ps, Proxyserver)
            addrs = ps.listen_addrs()
            if not addrs:
                detail = (
                    "; ".join(m.splitlines()[0] for m in errors.messages) or "no listening address"
                )
                self.stop()
                hint = (
                    "choose another port or stop what uses it"
                    if self.listen_port
                    else "check that 127.0.0.1 is usable"
                )
                raise ConfigError(
                    f"the proxy could not listen on {self.listen_host}:{self.listen_port}: "
                    f"{detail} ({hint})"
                )
            self.port = int(addrs[0][1])
        finally:
            mlog.removeHandler(errors)

    def stop(self) -> None:
        """Shut the proxy down and wait for its thread: the port is free when this returns."""
        if self._master is not None and self._thread is not None and self._thread.is_alive():
            self._master.shutdown()
            self._thread.join(timeout=10)
        self._master = None
        self._thread = None
        self.port = None

    def __enter__(self) -> ProxyRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
