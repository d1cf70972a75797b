"""Phone mode: proxy settings as text and QR code, step marks from the terminal or the phone."""

from __future__ import annotations

import io
import socket
import threading
from typing import Any, TextIO

from paywitness.proxy import is_loopback
from paywitness.witness_mode.checklist import STEP_HELP
from paywitness.witness_mode.control import CONTROL_URL
from paywitness.witness_mode.session import PROXY_USER, STEPS, WitnessSession

__all__ = [
    "KEYS",
    "lan_addresses",
    "proxy_settings_text",
    "qr_text",
    "run_phone",
    "step_lines",
]

#: Terminal commands: a number or the step's name marks it; q finishes; s shows the checklist.
KEYS = {str(n): s for n, s in enumerate(STEPS, 1)} | {s: s for s in STEPS}
_FINISH = {"q", "f", "finish", "done"}


def lan_addresses() -> list[str]:
    """This machine's addresses a phone on the same network may reach (best effort)."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: picks the outgoing interface, sends nothing
            found.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addr = str(info[4][0])
            if addr not in found and not addr.startswith("127."):
                found.append(addr)
    except OSError:
        pass
    return [a for a in found if not a.startswith("127.")]


def _reachable_host(session: WitnessSession) -> str:
    host = session.options.listen_host
    if host in ("", "0.0.0.0", "::"):
        lan = lan_addresses()
        return lan[0] if lan else "THIS-COMPUTER'S-ADDRESS"
    return host


def proxy_settings_text(session: WitnessSession) -> str:
    """What the person types into the phone's Wi-Fi proxy settings (the QR code's content)."""
    return "\n".join(
        [
            "Proxy: manual",
            f"Host: {_reachable_host(session)}",
            f"Port: {session.proxy_port}",
            f"Username: {PROXY_USER}",
            f"Password: {session.password}",
        ]
    )


def qr_text(data: str) -> str:
    """`data` as a QR code drawn with block characters (dark on a light terminal or not)."""
    import qrcode

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.StringIO()
    qr.print_ascii(out=buf, invert=True)
    return buf.getvalue().rstrip("\n")


def step_lines(keys: bool) -> list[str]:
    """Every step mark with when to press it (and its terminal key)."""
    width = max(len(s) for s in STEPS)
    return [
        f"{f'{n} ' if keys else ''}{s:<{width}}  {STEP_HELP[s]}" for n, s in enumerate(STEPS, 1)
    ]


def _banner(session: WitnessSession) -> str:
    port = session.proxy_port
    if is_loopback(session.options.listen_host):
        connect = [
            "  1. Connect the phone by USB (Android) and run on this computer:",
            f"       adb reverse tcp:{port} tcp:{port}",
            "     (This proxy accepts this computer only. For Wi-Fi instead, restart with",
            "     --listen 0.0.0.0:8080 and put the phone on this computer's network.)",
        ]
    else:
        connect = [
            "  1. Put the phone on the same network as this computer (allow port "
            f"{port} in the firewall if it asks).",
        ]
    lines = [
        "",
        "Phone setup (see README 'Check it yourself'):",
        *connect,
        "  2. In the phone's Wi-Fi settings, set the proxy of the network in use:",
        *(f"       {line}" for line in proxy_settings_text(session).splitlines()),
        "     (the password is shown only now; the QR code below holds the same settings)",
        f"  3. Open {CONTROL_URL} on the phone: this is the step page. Install the",
        f'     certificate from it; it is named "{session.ca_name}".',
        f"  4. Buy as usual, starting at {session.start_url}. Mark each step as you reach it,",
        "     on the step page or here (its number, then Enter):",
        *(f"       {line}" for line in step_lines(keys=True)),
        "     Then Finish on the step page, or q here.",
        "  5. Afterwards turn the phone's proxy off and remove the certificate.",
        "",
        qr_text(proxy_settings_text(session)),
        "",
        "Keys (then Enter): "
        + ", ".join(f"{n}={s}" for n, s in enumerate(STEPS, 1))
        + ", s=checklist, q=finish",
    ]
    return "\n".join(lines)


def _read_terminal(session: WitnessSession, stdin: TextIO) -> None:
    try:
        _read_keys(session, stdin)
    except (OSError, ValueError):  # the terminal went away: the phone can still finish
        return


def _read_keys(session: WitnessSession, stdin: TextIO) -> None:
    for raw in stdin:
        cmd = raw.strip().lower()
        if not cmd:
            continue
        if cmd in _FINISH:
            session.finish(source="terminal")
            return
        if cmd in KEYS:
            session.mark(KEYS[cmd], source="terminal")
        elif cmd in ("s", "status"):
            session.print(session.checklist())
        else:
            session.print(f"paywitness: unknown key {cmd!r}; 1-{len(STEPS)} or a step name, s, q")
        if session.finished.is_set():
            return


def run_phone(session: WitnessSession, stdin: TextIO) -> dict[str, Any]:
    """Print the setup, take marks from the terminal and the phone; wait (bounded) for Finish."""
    session.print(_banner(session))
    session.print(session.checklist())
    reader = threading.Thread(
        target=_read_terminal, args=(session, stdin), name="paywitness-keys", daemon=True
    )
    reader.start()
    limit = session.options.max_minutes * 60
    try:
        if not session.finished.wait(timeout=limit):
            session.print(f"paywitness: no Finish within {session.options.max_minutes:g} minutes")
            session.finish(source="timeout")
    except KeyboardInterrupt:  # Ctrl-C is how many people end a terminal session: judge it
        session.finish(source="interrupt")
    return {"phone": {"listen_host": session.options.listen_host, "port": session.proxy_port}}
