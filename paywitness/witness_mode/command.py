"""`paywitness witness`: start the session, run the browser or phone mode, judge, exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from paywitness.errors import ConfigError
from paywitness.scope import MODE_SCOPES
from paywitness.witness_mode.phone import step_lines
from paywitness.witness_mode.session import WitnessOptions, WitnessSession

__all__ = ["parse_listen", "run_witness"]


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `HOST` or `[V6]:PORT`; ConfigError naming the value otherwise."""
    host, port = value, "0"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "0"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        number = int(port)
        if not 0 <= number <= 65535:
            raise ValueError(port)
    except ValueError as e:
        raise ConfigError(
            f"--listen {value!r} is not HOST:PORT (e.g. 127.0.0.1:8080 or 0.0.0.0:8080)"
        ) from e
    return host, number


def _mode(options: WitnessOptions) -> str:
    return "witness-phone" if options.phone else "witness-browser"


def _banner(session: WitnessSession) -> str:
    b, c = session.buyer, session.card
    return "\n".join(
        [
            f"paywitness witness: {session.profile.name}; evidence in {session.output}",
            f"  seed {session.seed}; start at {session.start_url}",
            f"  scope: {MODE_SCOPES[_mode(session.options)].statement}",
            "Type exactly these values when the shop asks (they are this run's canaries):",
            f"  Name:     {b.name}",
            f"  Email:    {b.email}",
            f"  Phone:    {b.phone}",
            f"  Address:  {b.street_address}, {b.city} {b.postcode}",
            f"  Card:     {c.number}  expiry {c.expiry}  CVC {c.cvc}  (a test card)",
            *(
                []
                if session.options.phone
                else [
                    "A panel in the bottom-right corner of every page has a button per step.",
                    "Press each step as you reach it:",
                    *(f"  {line}" for line in step_lines(keys=False)),
                    "Then press Finish (and Yes). Closing the window also finishes.",
                ]
            ),
        ]
    )


def run_witness(
    options: WitnessOptions,
    *,
    out: TextIO,
    stdin: TextIO,
    person: Callable[..., None] | None = None,
    on_ready: Callable[[WitnessSession], None] | None = None,
) -> int:
    """Run one witnessed purchase; the exit code follows the verdict (0 pass, 1 fail, 3)."""
    if not options.phone:
        from paywitness.witness_mode.browser import check_display

        check_display(options.headless)
    session = WitnessSession(options, out)
    session.start()
    try:
        session.print(_banner(session))
        if on_ready is not None:
            on_ready(session)
        if options.phone:
            from paywitness.witness_mode.phone import run_phone

            extra = run_phone(session, stdin)
        else:
            from paywitness.witness_mode.browser import run_browser

            # Judged at Finish, so the report can open in the same window.
            return run_browser(session, mode=_mode(options), person=person)
    except BaseException:
        session.stop_services()
        raise
    return session.close(mode=_mode(options), extra=extra)
