"""`paywitness record`: a person buys once in a headed browser through the proxy; the clicks and
typing are written as the profile's `flow.steps`, typed buyer values as placeholders.

The browser is the witness-mode browser (same proxy, canaries and evidence bundle); a script in
every frame reports clicks, changes and Enter presses with a selector that prefers
`data-testid`, then ids, then names and roles. Iframes are reached by the selector of their
element in the parent frame, so steps in a card iframe become a `frame` chain.
"""

from __future__ import annotations

import bisect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from playwright.sync_api import BrowserContext, Frame, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from paywitness import moments
from paywitness.browser import CHROMIUM_ARGS, find_chromium
from paywitness.errors import ConfigError
from paywitness.flow import BuyerValues
from paywitness.flow_spec import FlowStep

__all__ = ["RecordOptions", "Recording", "record_main", "steps_to_yaml"]

# Runs in every frame: report what the person does, with the best selector for the target.
_RECORDER_JS = (Path(__file__).resolve().parent / "record.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class RecordOptions:
    """What `paywitness record` was asked to do."""

    profile_path: Path | None
    demo: bool
    output: Path
    resolve: tuple[str, ...] = ()
    seed: int | None = None
    browser: str | None = None
    headless: bool = False
    cdp_port: int | None = None
    max_minutes: float = 60.0
    bundle: Path | None = None


#: The actions record.js reports that become steps.
_RECORDED_KINDS = ("fill", "select", "press", "click", "check")


@dataclass
class Recording:
    """The steps as the person did them, in the page they were done in.

    Events arrive from each frame's own renderer; a cross-site frame's can arrive after a later
    event of another frame (typed card fields after the Pay click they preceded). Each event
    carries the time its page saw it (`at`, milliseconds since the epoch, one clock for every
    process), and the steps are rebuilt in that order whenever one arrives late."""

    start_url: str
    values: dict[str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)
    _events: list[tuple[float, int, dict[str, Any], list[str]]] = field(default_factory=list)
    _chain: list[str] | None = None

    def placeholder(self, typed: str) -> str:
        """The typed text with every canary value in it replaced by its placeholder."""
        out = typed
        # Longest first: a full name contains a given name.
        for key, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if value and value in out:
                out = out.replace(value, "{" + key + "}")
        return out

    def add(self, event: dict[str, Any], chain: list[str]) -> dict[str, Any] | None:
        """Take one event; returns the step it made or updated, None if it arrived after a later
        event (the steps were rebuilt in the pages' order) or was of no kind recorded."""
        seq = len(self._events)
        at = event.get("at")
        key = float(at) if isinstance(at, int | float) else float("inf")
        late = bool(self._events) and key < self._events[-1][0]
        bisect.insort(self._events, (key, seq, event, chain), key=lambda e: (e[0], e[1]))
        if not late:
            return self._apply(event, chain)
        self.steps, self._chain = [], None
        for _, _, ev, ch in self._events:
            self._apply(ev, ch)
        return None

    def _apply(self, event: dict[str, Any], chain: list[str]) -> dict[str, Any] | None:
        if chain != self._chain:
            if self._chain is not None or chain:
                self.steps.append({"frame": chain})
            self._chain = chain
        kind = str(event.get("kind"))
        sel = str(event.get("selector"))
        step: dict[str, Any]
        if kind == "fill":
            value = self.placeholder(str(event.get("value", "")))
            last = self.steps[-1] if self.steps else {}
            if last.get("fill") == sel:
                last["value"] = value  # typed again in the same field: the last value counts
                return last
            step = {"fill": sel, "value": value}
        elif kind == "select":
            step = {"select": sel, "value": self.placeholder(str(event["value"]))}
        elif kind == "press":
            step = {"press": sel, "key": str(event.get("key", "Enter"))}
        elif kind in ("click", "check"):
            step = {kind: sel}
        else:
            return None
        self.steps.append(step)
        return step

    def tag(
        self,
        hints: dict[str, str],
        ready: dict[str, str],
        checkout_ready: tuple[list[str], str] | None = None,
    ) -> None:
        """Mark the standard steps and moments where the profile's own selectors were acted on;
        after opening a storefront tab, wait for what shows it is ready (`ready` by tab); after
        Buy, for what shows the checkout is ready (`checkout_ready`: its frames and selector),
        so that the replay times Buy -> checkout-ready as the standard purchase does."""
        known = {_norm(k): v for k, v in hints.items()}
        tagged: list[dict[str, Any]] = []
        chain: list[str] = []  # the frame the recorded steps are in at this point
        for step in self.steps:
            tagged.append(step)
            if "frame" in step:
                chain = list(step["frame"])
            sel = step.get("click") or step.get("check")
            if not sel or _norm(sel) not in known or "moment" in step:
                continue
            moment = known.pop(_norm(sel))
            step["moment"] = moment
            tab = moments.tab_of(moment)
            step["step"] = tab or {"buy": "checkout", "pay": "pay"}.get(moment, moment)
            if tab is not None and tab in ready:
                tagged.append({"wait_for": ready[tab], "moment": moments.tab_ready(tab)})
            if moment == moments.BUY and checkout_ready is not None:
                frames, ready_sel = checkout_ready
                if frames != chain:
                    tagged.append({"frame": frames})
                tagged.append({"wait_for": ready_sel, "moment": moments.CHECKOUT_READY})
                if frames != chain:
                    tagged.append({"frame": chain})  # back where the person's next step is
        self.steps = tagged

    def flow_steps(self, confirmation: str | None) -> list[FlowStep]:
        """The recorded steps, starting at the start URL; the profile's confirmation is awaited
        after Pay, where the buyer's actions leave the Pay button's frame (or at the end)."""
        raw: list[dict[str, Any]] = [{"goto": "", "step": "browse"}, *self.steps]
        if confirmation:
            paid = next((i for i, s in enumerate(raw) if s.get("moment") == moments.PAY), None)
            at = len(raw)
            if paid is not None:
                at = next((i for i in range(paid + 1, len(raw)) if "frame" in raw[i]), at)
            raw.insert(at, {"wait_for": confirmation, "moment": moments.CONFIRMATION})
        return [FlowStep.model_validate(s) for s in raw]


def _norm(selector: str) -> str:
    """The innermost part of a selector, quotes dropped (`[a] [b="x"]` -> `[b=x]`)."""
    return selector.replace('"', "").split()[-1] if selector.split() else selector


def steps_to_yaml(profile_data: dict[str, Any], steps: list[FlowStep]) -> str:
    """The profile with its flow's steps replaced by the recorded ones."""
    flow = dict(profile_data.get("flow") or {})
    flow["steps"] = [s.model_dump(exclude_defaults=True) for s in steps]
    return yaml.safe_dump({**profile_data, "flow": flow}, sort_keys=False, allow_unicode=True)


def _frame_chain(frame: Frame) -> list[str]:
    """Selectors of the iframe elements from the page down to `frame`."""
    chain: list[str] = []
    node: Frame | None = frame
    while node is not None and node.parent_frame is not None:
        element = node.frame_element()
        sel = element.evaluate("el => window.__pwSelector ? window.__pwSelector(el) : 'iframe'")
        chain.insert(0, str(sel))
        node = node.parent_frame
    return chain


def _hints(profile: Any) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Selectors the profile already knows (buy, pay, tabs), the tabs' ready selectors and its
    confirmation, to tag the recorded steps with moments."""
    flow = profile.flow
    if flow is None:
        return {}, {}, None
    hints: dict[str, str] = {}
    ready = {name: tab.ready for name, tab in flow.tabs.items()}
    for name, tab in flow.tabs.items():
        hints[tab.open] = moments.tab_open(name)
    confirmation: str | None = flow.confirmation
    if flow.steps is not None:
        for s in flow.steps:
            sel = s.click or s.tap
            if sel and s.moment and moments.marked_before(s.moment):
                hints[sel] = s.moment
            if s.moment == moments.CONFIRMATION:
                if isinstance(s.wait_for, str):
                    confirmation = s.wait_for
                elif s.expect:
                    confirmation = s.expect
    else:
        for sel, m in ((flow.buy, moments.BUY), (flow.pay, moments.PAY)):
            if sel:
                hints[sel] = m
    return hints, ready, confirmation


def _checkout_ready(profile: Any) -> tuple[list[str], str] | None:
    """The frames and selector that show the profile's checkout is ready, if it says."""
    flow = profile.flow
    if flow is None:
        return None
    if flow.steps is None:
        return (list(flow.checkout_frames), flow.checkout_ready) if flow.checkout_ready else None
    chain: list[str] = []
    for s in flow.steps:
        if s.frame is not None:
            chain = list(s.frame)
        if s.moment == moments.CHECKOUT_READY:
            sel = s.wait_for if isinstance(s.wait_for, str) else s.expect
            return (chain, sel) if sel else None
    return None


def _drive(context: BrowserContext, rec: Recording, opts: RecordOptions, out: TextIO) -> None:
    def on_event(source: dict[str, Any], event: dict[str, Any]) -> None:
        frame = source.get("frame")
        try:
            chain = _frame_chain(frame) if isinstance(frame, Frame) else []
        except PlaywrightError:
            chain = []
        step = rec.add(event, chain)
        if step is not None:
            out.write(f"paywitness record: {step}\n")
        elif event.get("kind") in _RECORDED_KINDS:
            out.write(
                f"paywitness record: {event.get('kind')} in {chain or 'the page'} put in "
                "its place (it arrived after a later action)\n"
            )
        out.flush()

    context.expose_binding("paywitnessRecord", on_event)
    context.add_init_script(_RECORDER_JS)
    page: Page = context.pages[0] if context.pages else context.new_page()
    page.goto(rec.start_url)
    closed: list[bool] = []
    context.on("close", lambda _: closed.append(True))
    page.on("close", lambda _: closed.append(True))
    try:
        page.wait_for_event("close", timeout=opts.max_minutes * 60_000)
    except PlaywrightTimeout:
        out.write(f"paywitness record: no end within {opts.max_minutes:g} minutes\n")
    except PlaywrightError:
        pass  # the browser went away: what was recorded is written


def record_main(opts: RecordOptions, out: TextIO = sys.stdout) -> int:
    """Record one purchase; write the profile with the recorded steps to `opts.output`."""
    from paywitness.witness_mode.browser import _proxy_settings, check_display
    from paywitness.witness_mode.session import WitnessOptions, WitnessSession

    check_display(opts.headless)
    session = WitnessSession(
        WitnessOptions(
            profile_path=opts.profile_path,
            demo=opts.demo,
            output=opts.bundle,
            seed=opts.seed,
            browser=opts.browser,
            headless=opts.headless,
            resolve=opts.resolve,
        ),
        out,
    )
    values = BuyerValues.of(session.buyer, session.card).lookup()
    rec = Recording(session.start_url, {k: v for k, v in values.items() if v})
    out.write(
        "paywitness record: buy once as a buyer would, with these values:\n"
        + "".join(f"  {k:<22} {v}\n" for k, v in rec.values.items() if "." in k)
        + "  then close the window.\n"
    )
    session.start()
    try:
        executable = find_chromium(opts.browser)
        args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={session.ca_spki}"]
        if opts.cdp_port is not None:
            # For a script acting as the person (tests): it connects over CDP to this browser.
            args.append(f"--remote-debugging-port={opts.cdp_port}")
        with sync_playwright() as pw:
            try:
                context = pw.chromium.launch_persistent_context(
                    str(session.tmp_dir / "chromium-profile"),
                    executable_path=str(executable) if executable else None,
                    headless=opts.headless,
                    proxy=_proxy_settings(session),  # type: ignore[arg-type]
                    args=args,
                    no_viewport=not opts.headless,
                )
            except PlaywrightError as e:
                raise ConfigError(
                    f"the browser could not start: {e.message.splitlines()[0]} "
                    "(pass --browser PATH to a Chromium binary)"
                ) from e
            _drive(context, rec, opts, out)
            try:
                context.close()
            except PlaywrightError:
                pass  # already closed by the person
    finally:
        session.finish(source="record")
        session.close(mode="record")
    hints, ready, confirmation = _hints(session.profile)
    rec.tag(hints, ready, _checkout_ready(session.profile))
    steps = rec.flow_steps(confirmation)
    data = yaml.safe_load(session.profile_path.read_text(encoding="utf-8"))
    opts.output.write_text(steps_to_yaml(data, steps), encoding="utf-8")
    out.write(f"paywitness record: {len(steps)} steps written to {opts.output}\n")
    return 0
