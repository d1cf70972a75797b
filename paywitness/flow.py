"""The standard purchase, driven from a profile's flow (no shop-specific code).

A flow is a list of steps (`paywitness.flow_spec.FlowStep`); the older declarative hints are a
shorthand that `expand_hints` turns into the same steps, so there is one way of driving a shop.
Every wait is Playwright's auto-waiting; only a `pause` step waits a fixed time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

from playwright.sync_api import ElementHandle, FrameLocator, Locator, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import paywitness.moments as moments
from paywitness.errors import ConfigError, PaywitnessError
from paywitness.flow_spec import FlowStep, WaitSpec, render
from paywitness.profile import Action, FlowHints, Profile
from paywitness.untraced import untraced

if TYPE_CHECKING:
    from paywitness.buyers import Buyer, TestCard

__all__ = [
    "BuyerValues",
    "FlowStepError",
    "PurchaseResult",
    "StepRunner",
    "default_method",
    "expand_hints",
    "flow_steps",
    "run_actions",
    "run_purchase",
    "run_steps",
    "scope_for",
    "standard_problems",
]

_CONFIRM_TIMEOUT_S = 30.0
_CHECK_ATTEMPTS = 3
# Waiting for an element in any window looks in every page of the context in turn (a shop that
# opens its checkout in a popup must still be paid, and judged): each look is this long.
_ANY_PAGE_LOOK_MS = 400
_FIELD_PLACEHOLDERS = {
    "name": "{buyer.name}",
    "email": "{buyer.email}",
    "phone": "{buyer.phone}",
    "address": "{buyer.address}",
    "card_number": "{card.number}",
    "card_expiry": "{card.expiry}",
    "card_cvc": "{card.cvc}",
}
_CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")


log = logging.getLogger(__name__)


def _dispose(handle: ElementHandle) -> None:
    try:
        handle.dispose()
    except PlaywrightError:
        pass  # its frame is gone, and the handle with it


# A click Chromium routed to the wrong frame never reaches its element: seen on the demo's Pay
# button inside a cross-site checkout frame (the storefront page got the click on its <iframe>
# element, under load, about one purchase in fifty), leaving a purchase that waits 30 s for a
# confirmation nobody asked for. Each click step listens for its own click on the element
# (capturing, once) and clicks again only when the element positively did not get it.
_ARM_CLICK = """el => {
  el.__paywitnessClicked = false;
  const seen = () => { el.__paywitnessClicked = true; };
  el.addEventListener("click", seen, {once: true, capture: true});
}"""
_CLICK_ARRIVED = """el => new Promise((resolve) => {
  const until = Date.now() + 1000;
  const look = () => (el.__paywitnessClicked !== false || Date.now() > until)
    ? resolve(el.__paywitnessClicked !== false) : setTimeout(look, 25);
  look();
})"""


class FlowStepError(PaywitnessError, AssertionError):
    """A flow step that could not be done; the message names the step (`flow.steps[i]`)."""


class _Witness(Protocol):
    @property
    def start_url(self) -> str: ...

    def step(self, name: str) -> AbstractContextManager[None]: ...

    def link(self, kind: str, url: str) -> object: ...


def _split_name(name: str) -> tuple[str, str]:
    given, _, family = name.partition(" ")
    return given, family or given


@dataclass(frozen=True)
class BuyerValues:
    """What the buyer types: by field kind (shorthand) and by placeholder (`buyer.email`)."""

    # repr=False: pytest prints fixture values in failure reports; canaries never go there.
    name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str = field(repr=False)
    address: str = field(repr=False)
    card_number: str | None = field(default=None, repr=False)
    card_expiry: str | None = None
    card_cvc: str | None = None
    instrument: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, buyer: Buyer, card: TestCard | None) -> BuyerValues:
        """The values a seeded buyer types, paying with `card` (None: a method without card)."""
        address = f"{buyer.street_address}, {buyer.city} {buyer.postcode}"
        given, family = _split_name(buyer.name)
        values: dict[str, str] = {
            "buyer.name": buyer.name,
            "buyer.given_name": str(getattr(buyer, "given_name", None) or given),
            "buyer.family_name": str(getattr(buyer, "family_name", None) or family),
            "buyer.email": buyer.email,
            "buyer.phone": buyer.phone,
            "buyer.address": address,
            "buyer.street_address": buyer.street_address,
            "buyer.address_line1": str(
                getattr(buyer, "address_line1", None) or buyer.street_address
            ),
            "buyer.address_line2": str(getattr(buyer, "address_line2", None) or ""),
            "buyer.city": buyer.city,
            "buyer.region": str(getattr(buyer, "region", None) or buyer.city),
            "buyer.postcode": buyer.postcode,
            "buyer.marker": buyer.marker,
        }
        if card is not None:
            month, _, year = card.expiry.partition("/")
            values |= {
                "card.number": card.number,
                "card.expiry": card.expiry,
                "card.exp_month": month.strip(),
                "card.exp_year": year.strip(),
                "card.cvc": card.cvc,
                "card.holder": buyer.name,
            }
            if card.otp:
                values["card.otp"] = card.otp
        return cls(
            name=buyer.name,
            email=buyer.email,
            phone=buyer.phone,
            address=address,
            card_number=card.number if card else None,
            card_expiry=card.expiry if card else None,
            card_cvc=card.cvc if card else None,
            instrument={"otp": card.otp} if card and card.otp else {},
            placeholders=values,
        )

    def lookup(self) -> dict[str, str | None]:
        """Placeholder values, the shorthand's fields included (for BuyerValues made by hand)."""
        out: dict[str, str | None] = {
            "buyer.name": self.name,
            "buyer.email": self.email,
            "buyer.phone": self.phone,
            "buyer.address": self.address,
            "card.number": self.card_number,
            "card.expiry": self.card_expiry,
            "card.cvc": self.card_cvc,
        }
        out |= {f"card.{k}": v for k, v in self.instrument.items()}
        out |= self.placeholders
        return out


@dataclass(frozen=True)
class PurchaseResult:
    method: str
    outcome: str  # "confirmation" or "payment_error"
    order_number: str | None
    invoice_url: str | None
    message: str | None = None


def scope_for(page: Page, frames: Sequence[str]) -> Page | FrameLocator:
    """The page, or the (nested) iframe reached through a chain of iframe selectors."""
    scope: Page | FrameLocator = page
    for sel in frames:
        scope = scope.frame_locator(sel)
    return scope


def _check(box: Locator) -> None:
    # A frame that resizes while it loads can move a radio between Playwright's stability check
    # and the click; like a buyer who missed, click again (only for that exact failure).
    for attempt in range(_CHECK_ATTEMPTS):
        try:
            box.check()
            return
        except PlaywrightError as e:
            if "did not change its state" not in str(e) or attempt == _CHECK_ATTEMPTS - 1:
                raise


def _fill_verified(box: Locator, value: str) -> None:
    """Type the value, read it back and retype what did not stick.

    A frame that is still initialising can drop an early keystroke; a buyer would notice the
    empty field and type again before paying. A value that never sticks is an error; a field
    that already holds it is left alone (as a buyer would).
    """
    for attempt in range(_CHECK_ATTEMPTS):
        if _value_of(box) == value:
            return
        if attempt == 0:
            # A buyer taps into a field before typing: a real input event for the page (its
            # Web Vitals stop counting paints as loading once the buyer interacts).
            box.click()
        box.fill(value)
    if _value_of(box) != value:
        raise AssertionError("the field does not keep the value typed into it")


def _value_of(box: Locator) -> str:
    """What the field holds: the harness's own read, kept out of the trace (`untraced`)."""
    with untraced():
        return box.input_value()


#: How long a click may fail only Playwright's hit-target check before the spot is pressed.
_HIT_CHECK_MS = 8_000.0
_ROUTINE = (
    "waiting",
    "retrying",
    "attempting",
    "locator resolved",
    "element is visible",
    "scrolling",
    "done scrolling",
    "performing",
    "Call log",
)


def _call_log_reason(error: BaseException) -> str:
    """The last line of Playwright's call log that says what went wrong (not a routine line)."""
    for line in reversed(str(error).splitlines()[1:]):
        text = line.strip().lstrip("-").strip()
        if text and not text.startswith(_ROUTINE):
            return text[:200]
    return ""


# Whether the element is what its own frame's hit test finds at the element's centre (after
# bringing it into the frame's view): true unless something is drawn over it.
_ON_TOP = """el => {
  el.scrollIntoView({block: "center", inline: "center"});
  const r = el.getBoundingClientRect();
  if (!r.width || !r.height) return false;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return !!hit && (hit === el || el.contains(hit));
}"""


def _on_top_in_its_frame(handle: ElementHandle) -> bool:
    with untraced():
        return bool(handle.evaluate(_ON_TOP))


def _arrived(handle: ElementHandle) -> bool:
    """Whether the armed element got its click (waits up to 1 s for the event to land)."""
    with untraced():
        return bool(handle.evaluate(_CLICK_ARRIVED))


def _shown(target: Locator) -> bool:
    """Whether an optional step's element is there (a read, kept out of the trace)."""
    with untraced():
        return target.is_visible()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


class StepRunner:
    """Performs flow steps in a buyer's browser: the current window, iframe scope and step."""

    def __init__(
        self,
        page: Page,
        witness: _Witness,
        values: BuyerValues,
        *,
        where: str = "flow.steps",
        on_moment: Callable[[str, Page | FrameLocator], None] | None = None,
    ) -> None:
        self.page = page
        self.witness = witness
        self._armed: ElementHandle | None = None  # the current click step's listening element
        self.values = values.lookup()
        self.where = where
        self.on_moment = on_moment
        self.chain: list[str] = []
        self.chain_at = ""  # the step that set the chain, for messages
        self.step_name: str | None = None
        self._phase = ExitStack()
        self._responses: list[tuple[str, int]] = []
        self._since = 0
        self._step_began = 0
        self._watched: set[int] = set()
        self._opened: list[Page] = []
        self._taken: set[int] = set()
        self._watch(page)

    # -- the buyer's context ---------------------------------------------------------------
    def _watch(self, page: Page) -> None:
        if id(page.context) in self._watched:
            return
        self._watched.add(id(page.context))
        page.context.on("response", self._on_response)
        page.context.on("page", lambda p: self._opened.append(p))

    def _on_response(self, response: Response) -> None:
        self._responses.append((response.url, response.status))

    @property
    def scope(self) -> Page | FrameLocator:
        return scope_for(self.page, self.chain)

    def _loc(self, selector: str) -> Locator:
        return self.scope.locator(selector).first

    def close(self) -> None:
        """End the open step (its hooks run: screenshots, storage)."""
        self._phase.close()

    def __enter__(self) -> StepRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ---------------------------------------------------------------------------
    def run(self, steps: Sequence[FlowStep], where: str | None = None) -> None:
        """Perform `steps` in order; a failure names the step (`flow.steps[i]`)."""
        base = where or self.where
        for i, step in enumerate(steps):
            self.run_one(step, f"{base}[{i}]")

    def run_one(self, step: FlowStep, at: str, *, double: bool = False) -> None:
        """Perform one step (`double`: a click step clicks twice at once, a hurried buyer)."""
        if step.step is not None and step.step != self.step_name:
            self._start_step(step.step)
        elif self.step_name is None:
            self._start_step("browse")
        # Listening for the click happens before its moment is marked (a timing never counts it).
        self._armed = None if double else self._arm_click(step)
        if step.moment and moments.marked_before(step.moment):
            self._mark(step.moment)
        try:
            self._act(step, at, double=double)
        except (PlaywrightError, AssertionError) as e:
            if isinstance(e, FlowStepError):
                raise
            raise FlowStepError(self._explain(step, at, e)) from e
        if step.moment and not moments.marked_before(step.moment):
            self._mark(step.moment)

    def _start_step(self, name: str) -> None:
        self._phase.close()
        self._phase = ExitStack()
        self._phase.enter_context(self.witness.step(name))
        self.step_name = name

    def _mark(self, name: str) -> None:
        moment = getattr(self.witness, "moment", None)
        if callable(moment):
            shown = not moments.marked_before(name)
            moment(name, self.page if shown and not self.page.is_closed() else None)
        if self.on_moment is not None:
            self.on_moment(name, self.scope)

    def _explain(self, step: FlowStep, at: str, error: BaseException) -> str:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        text = f"{at} ({step.verb} {step.target!r}) failed: {first}"
        reason = _call_log_reason(error)
        if reason:
            text += f" (last: {reason})"
        missing = self._missing_frame()
        if missing is not None:
            text = (
                f"{at} ({step.verb} {step.target!r}): the frame chain {self.chain!r} set by "
                f"{self.chain_at} matches nothing: no iframe {missing!r} "
                + ("in the page" if missing == self.chain[0] else "inside the frame before it")
            )
        return text

    def _missing_frame(self) -> str | None:
        """The first selector of the frame chain that finds no iframe now (None: all do)."""
        if not self.chain or self.page.is_closed():
            return None
        scope: Page | FrameLocator = self.page
        for sel in self.chain:
            try:
                if scope.locator(sel).count() == 0:
                    return sel
            except PlaywrightError:
                return sel
            scope = scope.frame_locator(sel)
        return None

    def _act(self, step: FlowStep, at: str, *, double: bool = False) -> None:
        timeout = _ms(step.timeout_s)
        # Responses since the previous step began belong to this step's `wait_for: response`.
        self._since, self._step_began = self._step_began, len(self._responses)
        verb = step.verb
        if verb == "goto":
            assert step.goto is not None
            url = urljoin(self.witness.start_url, self._render(step.goto, at))
            if step.if_away and self.page.url.startswith(url.rstrip("/")):
                return
            self.page.goto(url, timeout=timeout)
            self.chain = []
        elif verb in ("click", "tap"):
            target = self._loc(str(getattr(step, verb)))
            if step.optional and not _shown(target):
                return
            if double:
                target.dblclick(timeout=timeout)
            else:
                self._click_reaching(target, timeout, tap=verb == "tap", at=at)
        elif verb == "fill":
            box = self._loc(str(step.fill))
            box.wait_for(timeout=timeout)
            _fill_verified(box, self._render(str(step.value), at))
        elif verb == "select":
            value = self._render(str(step.value), at)
            self._loc(str(step.select)).select_option(value, timeout=timeout)
        elif verb == "press":
            self._loc(str(step.press)).press(str(step.key), timeout=timeout)
        elif verb == "check":
            assert step.check is not None
            _check(self._loc(step.check))
        elif verb == "wait_for":
            self._wait_for(step, timeout)
        elif verb == "expect":
            assert step.expect is not None
            self._expect(step, timeout)
        elif verb == "frame":
            assert step.frame is not None
            self.chain = list(step.frame)
            self.chain_at = at
        elif verb == "popup":
            self._popup(step, at, timeout)
        elif verb == "pause":
            assert step.pause is not None
            # The one fixed wait, declared with its reason in the profile (bounded there).
            self.page.wait_for_timeout(step.pause * 1000)
        elif verb == "open_link":
            self._open_link(step, at, timeout)

    def _render(self, text: str, at: str) -> str:
        try:
            return render(text, self.values)
        except ValueError as e:
            raise FlowStepError(f"{at}: {e}") from e

    def _click_reaching(
        self, target: Locator, timeout: float | None, *, tap: bool, at: str
    ) -> None:
        """Click (or tap) once; again once only if the element positively never got the click."""
        self._press_checked(target, timeout, tap=tap, at=at)
        if self._armed is None:
            return
        handle, self._armed = self._armed, None
        try:
            # The element itself, not the selector again: one that the click removed or
            # replaced is not waited for (its own flag still tells).
            arrived = _arrived(handle)
        except PlaywrightError:
            return  # the click navigated its frame away: it arrived
        finally:
            _dispose(handle)
        if not arrived:
            log.warning("paywitness: %s: the click never reached its element; clicking again", at)
            self._press(target, timeout, tap=tap)

    def _press(
        self, target: Locator, timeout: float | None, *, tap: bool, force: bool = False
    ) -> None:
        if tap:
            self._tap(target, timeout, force=force)
        else:
            target.click(timeout=timeout, force=force)

    def _press_checked(self, target: Locator, timeout: float | None, *, tap: bool, at: str) -> None:
        """Press with Playwright's checks. When only its hit-target check keeps failing for a
        while (another element "intercepts pointer events" at the spot where the element is
        drawn; on an emulated phone this happened with the button plainly visible there,
        Chromium's hit test and Playwright's coordinates disagreeing inside a cross-site
        frame), press that spot once as a person would. If the element did not get that
        either and its own frame's hit test finds it on top at its centre (no overlay, only
        coordinates that disagree), it is clicked from the page; otherwise it is pressed with
        the checks again for the time left (a real overlay fails as before).

        A click armed before the step (see `_arm_click`) is listened on as it was; one whose
        element could not be taken then (not drawn yet, or its frame's document replaced) is
        armed when the checks fail, by which time Playwright has found the element."""
        # A step without its own timeout has the context's default, which Playwright does not
        # tell: the check window is then taken on top of it (a failing step waits a little
        # longer), never cut from it.
        first = _HIT_CHECK_MS if timeout is None else min(timeout / 3, _HIT_CHECK_MS)
        started = time.monotonic()

        def left() -> float | None:
            if timeout is None:
                return None
            return max(timeout - (time.monotonic() - started) * 1000, 1000.0)

        try:
            self._press(target, first, tap=tap)
            return
        except PlaywrightTimeoutError as e:
            if "intercepts pointer events" not in str(e):
                self._press(target, left(), tap=tap)
                return
            log.warning(
                "paywitness: %s: for %.0f s another element kept intercepting the press at the "
                "element's drawn position (%s); pressing that position once",
                at,
                first / 1000,
                _call_log_reason(e),
            )
        armed, late = self._armed, self._armed is None
        if late:
            armed = self._arm(target, 1000.0)
            if armed is None:
                self._press(target, left(), tap=tap)
                return
        assert armed is not None
        try:
            if self._press_past_the_check(target, armed, left(), tap=tap, at=at):
                return
        finally:
            if late:
                _dispose(armed)
        self._press(target, left(), tap=tap)

    def _press_past_the_check(
        self, target: Locator, armed: ElementHandle, timeout: float | None, *, tap: bool, at: str
    ) -> bool:
        """Press the drawn spot; failing that, click from the page an element that is on top at
        its own centre. True when the armed element got the click."""
        try:
            self._press(target, timeout, tap=tap, force=True)
            if _arrived(armed):
                return True
        except PlaywrightError:
            pass
        # The spot Playwright computed got the press, not the element (seen on an emulated
        # phone in CI: a field above the Pay button got it). The frame's own hit test at the
        # element's centre decides: the element on top there is no overlay, only coordinates
        # that disagree, and it gets the click from the page itself.
        try:
            if not _on_top_in_its_frame(armed):
                return False
            log.warning(
                "paywitness: %s: the element is on top at its own centre in its frame but "
                "presses at its computed position reached something else; clicking it in the "
                "page",
                at,
            )
            armed.evaluate("el => el.click()")
            return _arrived(armed)
        except PlaywrightError:
            return False

    def _arm_click(self, step: FlowStep) -> ElementHandle | None:
        """Listen for a click step's own click on its element (None: nothing to listen on)."""
        if step.verb not in ("click", "tap"):
            return None
        target = self._loc(str(getattr(step, step.verb)))
        try:
            if step.optional and not _shown(target):
                return None
        except PlaywrightError:
            return None
        return self._arm(target, _ms(step.timeout_s))

    @staticmethod
    def _arm(target: Locator, timeout: float | None) -> ElementHandle | None:
        try:
            with untraced():  # the harness listening, not the buyer acting
                handle = target.element_handle(timeout=timeout)
                handle.evaluate(_ARM_CLICK)
        except PlaywrightError:
            return None  # not there (yet) or gone: the click itself reports that
        return handle

    @staticmethod
    def _tap(target: Locator, timeout: float | None, *, force: bool = False) -> None:
        try:
            target.tap(timeout=timeout, force=force)
        except PlaywrightError as e:
            # A context without touch (desktop) cannot tap: the buyer clicks instead.
            if "hasTouch" not in str(e):
                raise
            target.click(timeout=timeout, force=force)

    def _wait_for(self, step: FlowStep, timeout: float | None) -> None:
        spec = step.wait_for
        if isinstance(spec, str):
            spec = WaitSpec(selector=spec)
        assert spec is not None
        if spec.selector:
            if step.any_page:
                self.page = self._in_any_page(spec.selector, timeout)
            else:
                self._loc(spec.selector).wait_for(timeout=timeout)
        elif spec.url:
            self.page.wait_for_url(spec.url, timeout=timeout)
        elif spec.response:
            self._wait_response(spec.response, spec.status, timeout)

    def _wait_response(self, glob: str, status: int | None, timeout: float | None) -> None:
        def matches(url: str, code: int) -> bool:
            return fnmatch(url, glob) and (status is None or code == status)

        # A response that arrived while the previous step ran counts: it was this wait's.
        if any(matches(u, c) for u, c in self._responses[self._since :]):
            return
        self.page.context.wait_for_event(
            "response", lambda r: matches(r.url, r.status), timeout=timeout
        )

    def _in_any_page(self, selector: str, timeout: float | None) -> Page:
        """The window (the buyer's own, or one the shop opened) where `selector` shows."""
        budget = timeout if timeout is not None else _CONFIRM_TIMEOUT_S * 1000
        looks = max(1, int(budget // _ANY_PAGE_LOOK_MS))
        for _ in range(looks):
            pages = [p for p in reversed(self.page.context.pages) if not p.is_closed()]
            for candidate in pages:
                found = scope_for(candidate, self.chain).locator(selector).first
                try:
                    found.wait_for(timeout=_ANY_PAGE_LOOK_MS)
                except PlaywrightTimeoutError:
                    continue
                self._watch(candidate)
                return candidate
        raise PlaywrightTimeoutError(f"{selector!r} did not show in any window")

    def _expect(self, step: FlowStep, timeout: float | None) -> None:
        assert step.expect is not None
        target = self._loc(step.expect)
        if not step.visible:
            expect(target).to_be_hidden(timeout=timeout)
            return
        expect(target).to_be_visible(timeout=timeout)
        if step.text is not None:
            expect(target).to_contain_text(render(step.text, self.values), timeout=timeout)

    def _popup(self, step: FlowStep, at: str, timeout: float | None) -> None:
        context = self.page.context
        if isinstance(step.popup, str):
            with context.expect_page(timeout=timeout) as info:
                self._loc(step.popup).click(timeout=timeout)
            window = info.value
        else:
            # The window may have opened (and even closed) while the previous step ran: the
            # first one not yet taken by a popup step is this step's.
            fresh = [p for p in self._opened if id(p) not in self._taken]
            window = fresh[0] if fresh else context.wait_for_event("page", timeout=timeout)
        self._taken.add(id(window))
        self._watch(window)
        self._declare(window)
        if not step.then and not step.wait_close:
            self.page, self.chain = window, []
            return
        opener, chain = self.page, self.chain
        self.page, self.chain = window, []
        try:
            self.run(step.then, f"{at}.then")
            if step.wait_close and not window.is_closed():
                window.wait_for_event("close", timeout=timeout)
        finally:
            self.page, self.chain = opener, chain

    def _declare(self, window: Page) -> None:
        """Tell the continuity probe this window is part of the purchase the profile describes
        (a `popup` step), so it is reported as declared rather than as a surprise."""
        observer = getattr(self.witness, "observer", None)
        write = getattr(observer, "write", None)
        if callable(write):
            write("popup-declared", url=window.url)

    def _open_link(self, step: FlowStep, at: str, timeout: float | None) -> None:
        assert step.open_link is not None
        href = self._loc(step.open_link).get_attribute("href", timeout=timeout)
        if not href:
            raise AssertionError(f"the link {step.open_link!r} has no href")
        url = urljoin(self.page.url, href)
        if step.link:
            self.witness.link(step.link, url)
        opener, chain = self.page, self.chain
        tab = opener.context.new_page()
        self.page, self.chain = tab, []
        try:
            # The buyer looks at the tab the link opened: a page left in the background gets no
            # animation frames, and Playwright's click waits for frames to see its element stable.
            tab.bring_to_front()
            tab.goto(url, timeout=timeout)
            self.run(step.then, f"{at}.then")
        finally:
            self.page, self.chain = opener, chain
            tab.close()
            with suppress(PlaywrightError):
                opener.bring_to_front()  # and goes back to the shop's tab


def run_steps(
    page: Page, witness: _Witness, steps: Sequence[FlowStep], values: BuyerValues
) -> StepRunner:
    """Perform `steps` as the buyer; returns the runner (its page is where the buyer ended)."""
    runner = StepRunner(page, witness, values)
    with runner:
        runner.run(steps)
    return runner


def _action_steps(actions: Sequence[Action], frames: list[str]) -> list[FlowStep]:
    """The shorthand's method actions as steps (each in its own iframe scope)."""
    out: list[FlowStep] = []
    for a in actions:
        out.append(FlowStep(frame=list(frames if a.frames is None else a.frames)))
        value = a.value
        if value and value.startswith("{") and value.endswith("}") and "." not in value:
            value = "{card." + value[1:]  # `{otp}`: a field of the test instrument
        if a.click:
            out.append(FlowStep(click=a.click))
        elif a.fill:
            out.append(FlowStep(fill=a.fill, value=value))
        elif a.check:
            out.append(FlowStep(check=a.check))
        elif a.select:
            out.append(FlowStep(select=a.select, value=value))
        elif a.wait:
            out.append(FlowStep(wait_for=a.wait))
        elif a.open_link:
            out.append(FlowStep(open_link=a.open_link, then=_action_steps(a.then, [])))
    return out


def expand_hints(hints: FlowHints, method: str) -> list[FlowStep]:
    """The shorthand (product_ready, buy, fields, pay, confirmation, tabs) as flow steps."""
    problems = [p for p in hints.purchase_problems() if p.startswith(f"flow.methods.{method}:")]
    if problems:
        raise ConfigError("; ".join(problems))
    how = hints.methods[method]
    frames = hints.checkout_frames

    def fields(kinds: Sequence[str]) -> list[FlowStep]:
        out: list[FlowStep] = []
        for kind, spec in hints.fields.items():
            if kind in kinds:
                out.append(FlowStep(frame=list(frames if spec.frames is None else spec.frames)))
                out.append(FlowStep(fill=spec.selector, value=_FIELD_PLACEHOLDERS[kind]))
        return out

    contact = [k for k in hints.fields if k not in _CARD_FIELDS]
    cards = list(_CARD_FIELDS) if how.instrument is not None else []
    wanted = hints.confirmation if how.expect == "confirmation" else hints.payment_error
    steps: list[FlowStep] = [
        FlowStep(goto="", step="browse"),
        FlowStep(wait_for=hints.product_ready, moment=moments.BROWSE),
        FlowStep(click=hints.buy, step="checkout", moment=moments.BUY),
        FlowStep(frame=list(frames)),
        FlowStep(wait_for=hints.checkout_ready, any_page=True, moment=moments.CHECKOUT_READY),
        *fields(contact),
        *_action_steps(how.before_pay, frames),
        *fields(cards),
        # Read everything back once more: the method switch may have re-rendered the form.
        *fields(contact),
        FlowStep(frame=list(frames)),
        FlowStep(click=hints.pay, step="pay", moment=moments.PAY),
        *_action_steps(how.after_pay, frames),
        FlowStep(frame=list(frames)),
        FlowStep(wait_for=wanted, timeout_s=_CONFIRM_TIMEOUT_S, moment=moments.CONFIRMATION),
    ]
    if how.expect != "confirmation":
        return steps
    if hints.invoice_link:
        # The buyer opens the invoice: a real navigation through the proxy.
        steps.append(FlowStep(open_link=hints.invoice_link, link="invoice", step="confirm"))
    for name, tab in hints.tabs.items():
        steps.append(FlowStep(frame=[], step=name))
        if hints.close_checkout:
            steps.append(FlowStep(click=hints.close_checkout, optional=True))
        # The shop took the buyer away (a redirect checkout): going back is a navigation.
        steps.append(FlowStep(goto="", if_away=True))
        steps.append(FlowStep(click=tab.open, moment=moments.tab_open(name)))
        steps.append(FlowStep(wait_for=tab.ready, moment=moments.tab_ready(name)))
    return steps


def run_actions(page: Page, actions: list[Action], hints: FlowHints, values: BuyerValues) -> None:
    """Perform a method's shorthand actions as the buyer would."""

    class _NoSteps:
        start_url = page.url

        @contextmanager
        def step(self, name: str) -> Iterator[None]:
            yield

        def link(self, kind: str, url: str) -> object:
            return None

    runner = StepRunner(page, _NoSteps(), values, where="actions")
    runner.step_name = "actions"  # no witness step of its own
    runner.run(_action_steps(actions, hints.checkout_frames))


def flow_steps(hints: FlowHints, method: str) -> tuple[list[FlowStep], str]:
    """The steps of a purchase with `method` and where they are written (for messages)."""
    how = hints.methods[method]
    if how.steps is not None:
        return list(how.steps), f"flow.methods.{method}.steps"
    if hints.steps is not None:
        return list(hints.steps), "flow.steps"
    return expand_hints(hints, method), f"flow (shorthand of {method})"


def default_method(hints: FlowHints | None) -> str:
    """The method a scenario that pays once uses: the first that expects a confirmation."""
    if hints is None:
        raise ConfigError(
            "the profile has no `flow` section, so the standard purchase cannot be driven; "
            "add flow steps (docs/own-shop.md) or write the scenario in Python"
        )
    for name, how in hints.methods.items():
        if how.expect == "confirmation":
            return name
    raise ConfigError(
        "no payment method of the profile's flow expects a confirmation "
        f"(methods: {', '.join(hints.methods)}); add one whose purchase succeeds"
    )


def standard_problems(profile: Profile) -> list[str]:
    """Why the standard scenarios cannot run on `profile` (empty: they can), from the profile
    alone, so that a usage error comes before any browser starts."""
    hints = profile.flow
    if hints is None:
        return [
            "the profile has no `flow` section: the standard scenarios drive a purchase from "
            "it; add flow.steps (docs/own-shop.md, Flow steps) or run your own scenarios with "
            "--scenarios"
        ]
    problems = hints.purchase_problems()
    if problems:
        return problems
    try:
        method = default_method(hints)
    except ConfigError as e:
        return [str(e)]
    if not profile.resilience:
        return []
    steps, where = flow_steps(hints, method)
    marked = {s.moment for s in steps}
    for needed in (moments.PAY, moments.CONFIRMATION):
        if needed not in marked:
            problems.append(
                f"resilience: the purchase ({where}) marks no {needed!r} moment, so the "
                f"resilience scenarios cannot tell when to inject and judge; add "
                f"`moment: {needed}` to the step where it happens"
            )
    names = [e.name for e in profile.payment.endpoints]
    if (profile.payment.charge_endpoint or "charge") not in names:
        problems.append(
            "resilience: set payment.charge_endpoint to the endpoint that moves money (the "
            f"resilience scenarios count charges on it; endpoints: {', '.join(names)})"
        )
    from paywitness.faults import parse_fault_rules

    for i, rule in enumerate(profile.resilience):
        for fault in parse_fault_rules(rule.faults):
            if fault.endpoint is not None and fault.endpoint not in names:
                problems.append(
                    f"resilience[{i}] ({rule.name}): endpoint={fault.endpoint} names no "
                    f"payment endpoint of the profile (known: {', '.join(names)})"
                )
    return problems


def run_purchase(
    page: Page,
    witness: _Witness,
    hints: FlowHints | None,
    buyer: BuyerValues,
    *,
    method: str | None = None,
) -> PurchaseResult:
    """The profile's purchase with `method` (default: `default_method`), steps labelled."""
    if hints is None:
        default_method(hints)  # raises, saying what to add
        raise AssertionError  # unreachable
    name = method if method is not None else default_method(hints)
    how = hints.methods.get(name)
    if how is None:
        raise ConfigError(
            f"the profile's flow has no payment method {name!r} (known: {', '.join(hints.methods)})"
        )
    steps, where = flow_steps(hints, name)
    seen: dict[str, Any] = {}

    def on_moment(moment: str, scope: Page | FrameLocator) -> None:
        if moment != moments.CONFIRMATION:
            return
        with untraced():  # what the confirmation says, read by the harness
            read(scope)

    def read(scope: Page | FrameLocator) -> None:
        if how.expect == "payment_error":
            if hints.payment_error:
                seen["message"] = scope.locator(hints.payment_error).first.inner_text().strip()
            return
        if hints.order_number:
            seen["order"] = scope.locator(hints.order_number).first.inner_text().strip()
        if hints.invoice_link:
            seen["invoice"] = scope.locator(hints.invoice_link).first.get_attribute("href")

    runner = StepRunner(page, witness, buyer, where=where, on_moment=on_moment)
    with runner:
        runner.run(steps)
    if how.expect == "payment_error":
        return PurchaseResult(name, "payment_error", None, None, seen.get("message"))
    return PurchaseResult(name, "confirmation", seen.get("order"), seen.get("invoice"))
