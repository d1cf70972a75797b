"""The purchase as data: flow steps, the browser to emulate, resilience rules (profile sections).

Validated when the profile loads, so a broken step list is exit 2 before any browser starts;
every error is reported at `flow.steps[i]`, the index of the step at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from paywitness.moments import check_moment

__all__ = [
    "ACTIONS",
    "BUYER_PLACEHOLDERS",
    "CARD_PLACEHOLDERS",
    "BrowserSpec",
    "FlowStep",
    "ResilienceRule",
    "ViewportSpec",
    "WaitSpec",
    "check_moments_unique",
    "placeholders_in",
    "render",
    "step_verb",
]

#: Every action a flow step may take (exactly one per step).
ACTIONS: tuple[str, ...] = (
    "goto",
    "click",
    "tap",
    "fill",
    "select",
    "press",
    "check",
    "wait_for",
    "expect",
    "frame",
    "popup",
    "pause",
    "open_link",
)
_OPTIONS = (
    "value",
    "key",
    "text",
    "visible",
    "reason",
    "then",
    "optional",
    "step",
    "moment",
    "timeout_s",
    "any_page",
    "if_away",
    "link",
    "wait_close",
)
#: `{buyer.X}` placeholders: the seeded buyer's canary values (split fields included).
BUYER_PLACEHOLDERS: tuple[str, ...] = (
    "name",
    "given_name",
    "family_name",
    "email",
    "phone",
    "address",
    "street_address",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postcode",
    "marker",
)
#: `{card.X}` placeholders: the method's test instrument.
CARD_PLACEHOLDERS: tuple[str, ...] = (
    "number",
    "expiry",
    "exp_month",
    "exp_year",
    "cvc",
    "otp",
    "holder",
)
_NAMESPACES: dict[str, tuple[str, ...]] = {"buyer": BUYER_PLACEHOLDERS, "card": CARD_PLACEHOLDERS}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z0-9_]+)\}")
_STEP = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_MAX_PAUSE_S = 30.0
_MAX_TIMEOUT_S = 180.0


def placeholders_in(text: str) -> list[str]:
    """The `ns.field` placeholders of `text`, in order."""
    return [f"{m.group(1)}.{m.group(2)}" for m in _PLACEHOLDER.finditer(text)]


def _check_placeholders(text: str) -> None:
    for m in _PLACEHOLDER.finditer(text):
        ns, name = m.group(1), m.group(2)
        known = _NAMESPACES.get(ns)
        if known is None or name not in known:
            choices = ", ".join(f"{{{n}.{f}}}" for n, fs in _NAMESPACES.items() for f in fs)
            raise ValueError(f"placeholder {m.group(0)} names no canary (known: {choices})")


def render(text: str, values: Mapping[str, str | None]) -> str:
    """`text` with every `{ns.field}` replaced by its value; a value the run lacks is an error."""

    def _one(m: re.Match[str]) -> str:
        key = f"{m.group(1)}.{m.group(2)}"
        value = values.get(key)
        if value is None:
            raise ValueError(
                f"the placeholder {m.group(0)} has no value in this run (a method without a "
                "card has no {card.*} values)"
            )
        return value

    return _PLACEHOLDER.sub(_one, text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WaitSpec(_Model):
    """What `wait_for` waits for: an element, the page's URL, or a response (one of them)."""

    selector: str | None = None
    url: str | None = Field(default=None, description="URL glob the page must reach")
    response: str | None = Field(default=None, description="URL glob of a response to await")
    status: int | None = Field(default=None, ge=100, le=599, description="With response")

    @model_validator(mode="after")
    def _one_kind(self) -> WaitSpec:
        kinds = [k for k in ("selector", "url", "response") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                f"wait_for takes exactly one of selector, url, response (got {kinds or 'none'})"
            )
        if self.status is not None and not self.response:
            raise ValueError("wait_for.status goes with wait_for.response")
        return self


class FlowStep(_Model):
    """One buyer action; exactly one of the ACTIONS keys, plus its options.

    Selectors act on their first match, inside the current scope (the page, or the iframe
    chain of the last `frame` step). `step` starts a named phase of the purchase from this
    action on; `moment` marks a moment of `paywitness.moments` (before the action for a buyer
    action such as `buy` or `pay`, after it for something shown, such as `checkout-ready`).
    """

    goto: str | None = Field(default=None, description="URL, absolute or relative to start_url")
    click: str | None = Field(default=None, description="Selector to click")
    tap: str | None = Field(default=None, description="Selector to tap (a click without touch)")
    fill: str | None = Field(default=None, description="Selector of a field to type `value` in")
    select: str | None = Field(default=None, description="Selector of a <select>; `value`")
    press: str | None = Field(default=None, description="Selector to press `key` on")
    check: str | None = Field(default=None, description="Selector of a checkbox or radio")
    wait_for: str | WaitSpec | None = Field(
        default=None, description="A selector, or {selector | url | response}"
    )
    expect: str | None = Field(
        default=None, description="Selector that must be visible (or hidden), with `text`"
    )
    frame: list[str] | None = Field(
        default=None, description="Scope following steps into this iframe chain ([] = page)"
    )
    popup: str | bool | None = Field(
        default=None,
        description="Click this selector (or, with true, wait) and continue in the window the "
        "shop opens; with `then`, run those steps there and come back",
    )
    pause: float | None = Field(
        default=None, gt=0, le=_MAX_PAUSE_S, description="Seconds to wait; needs a `reason`"
    )
    open_link: str | None = Field(
        default=None, description="Open this link's href in a new tab and run `then` there"
    )
    value: str | None = Field(default=None, description="fill/select value; {buyer.*} {card.*}")
    key: str | None = Field(default=None, description="press: the key, e.g. Enter")
    text: str | None = Field(default=None, description="expect: text the element contains")
    visible: bool = Field(default=True, description="expect: visible (true) or hidden (false)")
    reason: str | None = Field(default=None, description="pause: why a fixed wait is needed")
    then: list[FlowStep] = Field(default_factory=list, description="popup/open_link: steps there")
    optional: bool = Field(default=False, description="click/tap only if visible right now")
    step: str | None = Field(default=None, description="Start this named step (browse, pay, …)")
    moment: str | None = Field(default=None, description="Mark this moment (buy, pay, …)")
    timeout_s: float | None = Field(default=None, gt=0, le=_MAX_TIMEOUT_S)
    any_page: bool = Field(default=False, description="wait_for: in any window of the buyer")
    if_away: bool = Field(default=False, description="goto: only if the page is elsewhere")
    link: str | None = Field(default=None, description="open_link: record the href as this link")
    wait_close: bool = Field(default=False, description="popup with then: wait for it to close")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in ACTIONS and k not in _OPTIONS]
            if unknown:
                raise ValueError(
                    f"unknown action or option {', '.join(map(repr, unknown))} "
                    f"(actions: {', '.join(ACTIONS)}; options: {', '.join(_OPTIONS)})"
                )
        elif not isinstance(data, FlowStep):
            raise ValueError(f"a step is a mapping such as {{click: SELECTOR}} (got {data!r})")
        return data

    @model_validator(mode="after")
    def _one_action(self) -> FlowStep:
        verbs = [v for v in ACTIONS if getattr(self, v) is not None]
        if len(verbs) != 1:
            raise ValueError(
                f"a step takes exactly one action of {', '.join(ACTIONS)} "
                f"(got {', '.join(verbs) or 'none'})"
            )
        verb = verbs[0]
        if verb in ("fill", "select") and self.value is None:
            raise ValueError(f"{verb} needs a value (e.g. value: '{{buyer.email}}')")
        if verb == "press" and not self.key:
            raise ValueError("press needs a key (e.g. key: Enter)")
        if verb == "pause" and not (self.reason or "").strip():
            raise ValueError("pause needs a reason (why Playwright's auto-waiting is not enough)")
        if self.then and verb not in ("popup", "open_link"):
            raise ValueError("only popup and open_link steps take `then`")
        if verb == "popup" and self.popup is False:
            raise ValueError("popup takes a selector to click, or true to wait for the window")
        for text in (self.value, self.text, self.goto):
            if text:
                _check_placeholders(text)
        if self.step is not None and not _STEP.match(self.step):
            raise ValueError(f"step name {self.step!r} must be lowercase letters, digits, - _")
        if self.moment is not None:
            check_moment(self.moment)
        return self

    @property
    def verb(self) -> str:
        return step_verb(self)

    @property
    def target(self) -> str:
        """The action's argument, for messages."""
        arg = getattr(self, self.verb)
        if isinstance(arg, WaitSpec):
            return str(arg.selector or arg.url or arg.response)
        return str(arg)


def step_verb(step: FlowStep) -> str:
    """The one action of `step`."""
    return next(v for v in ACTIONS if getattr(step, v) is not None)


def _walk(steps: Sequence[FlowStep], where: str) -> Iterable[tuple[str, FlowStep]]:
    for i, s in enumerate(steps):
        yield f"{where}[{i}]", s
        yield from _walk(s.then, f"{where}[{i}].then")


def check_moments_unique(steps: Sequence[FlowStep], where: str = "steps") -> list[str]:
    """Each moment may be marked once; ValueError naming both steps otherwise. The moments."""
    seen: dict[str, str] = {}
    for at, s in _walk(steps, where):
        if s.moment is None:
            continue
        if s.moment in seen:
            raise ValueError(
                f"{at}: moment {s.moment!r} is named twice (already by {seen[s.moment]}); "
                "a moment is one instant of the purchase"
            )
        seen[s.moment] = at
    return list(seen)


class ViewportSpec(_Model):
    width: int = Field(ge=100, le=10_000)
    height: int = Field(ge=100, le=10_000)


class BrowserSpec(_Model):
    """The browser the standard and your own scenarios run in (the command line wins)."""

    device: str | None = Field(
        default=None, description="A Playwright device name such as 'Pixel 7' or 'iPhone 14'"
    )
    viewport: ViewportSpec | None = None
    is_mobile: bool | None = None
    has_touch: bool | None = None
    locale: str | None = Field(default=None, description="e.g. id-ID")
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Asia/Jakarta")
    user_agent: str | None = None

    def context_args(self) -> dict[str, Any]:
        """The explicit settings as browser context arguments (the device is resolved apart)."""
        out: dict[str, Any] = {}
        if self.viewport is not None:
            out["viewport"] = {"width": self.viewport.width, "height": self.viewport.height}
        for key in ("is_mobile", "has_touch", "locale", "user_agent"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.timezone is not None:
            out["timezone_id"] = self.timezone
        return out


class ResilienceRule(_Model):
    """One fault and what the buyer must see: the shop recovers, or shows an error in time.

    With `visible_error`, the buyer then pays again (`retry`, default: the `pay` moment's step
    again) and must reach the confirmation; either way exactly one charge may succeed.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    faults: list[str] = Field(min_length=1, description="Fault rules (paywitness.faults syntax)")
    expect: Literal["confirmation", "visible_error"]
    error: str | None = Field(default=None, description="visible_error: the message's selector")
    frame: list[str] = Field(default_factory=list, description="iframe chain of `error`")
    within_s: float = Field(default=10.0, gt=0, le=120)
    retry: list[FlowStep] | None = None
    double_click_pay: bool = Field(
        default=False, description="Click the `pay` step twice at once (a hurried buyer)"
    )

    @field_validator("faults")
    @classmethod
    def _faults_parse(cls, faults: list[str]) -> list[str]:
        from paywitness.faults import parse_fault_rules

        parse_fault_rules(faults)
        return faults

    @model_validator(mode="after")
    def _error_selector(self) -> ResilienceRule:
        if self.expect == "visible_error" and not self.error:
            raise ValueError("expect: visible_error needs `error`, the message's selector")
        if self.expect == "confirmation" and self.retry:
            raise ValueError("retry goes with expect: visible_error")
        return self
