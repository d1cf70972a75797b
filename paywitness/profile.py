"""Target profiles: which host is which role, what is payment-class, how to drive a purchase."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from paywitness.canaries.values import CanaryKind
from paywitness.categories import Category
from paywitness.errors import ProfileError
from paywitness.flow_spec import BrowserSpec, FlowStep, ResilienceRule, check_moments_unique
from paywitness.patterns import compile_host_pattern, compile_path_pattern

__all__ = [
    "DEFAULT_DATA_ALLOWED",
    "HINTS_REQUIRED",
    "ROLE_NAMES",
    "Action",
    "ArtefactField",
    "ArtefactPolicy",
    "CoveragePolicy",
    "DataPolicy",
    "DisplayEndpoint",
    "DisplaySpec",
    "EndpointSpec",
    "FieldSpec",
    "FlowHints",
    "GatePolicy",
    "IdentitySpec",
    "MethodHints",
    "NoiseSpec",
    "PaymentPolicy",
    "Profile",
    "RequiredCall",
    "RoleName",
    "RoleSpec",
    "SeamlessLimits",
    "SeamlessPolicy",
    "SeamlessWaiver",
    "TabHint",
    "demo_profile_path",
    "load_profile",
    "profile_digest",
]

RoleName = Literal["social", "commerce", "gateway", "third_party", "unknown"]
ROLE_NAMES: tuple[str, ...] = ("social", "commerce", "gateway", "third_party", "unknown")

_STEP = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"}


def _host_pattern(value: str) -> str:
    compile_host_pattern(value)
    return value.lower()


HostPattern = Annotated[str, AfterValidator(_host_pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as e:
        raise ValueError(
            f"{value!r} is not an IP address or CIDR range (e.g. '203.0.113.0/24' or '10.0.0.7')"
        ) from e


Network = Annotated[str, AfterValidator(_network)]


class IdentitySpec(_Model):
    """Who really answers for a role: what the server dialled proves, whatever its name says.

    Every kind listed must match (organisation among `organizations`, address within one of
    `networks`, every header of `headers` matching its glob); kinds left empty are not checked.
    """

    organizations: list[str] = Field(
        default_factory=list,
        description="Subject organisation (O=) of the upstream TLS certificate, exact",
    )
    networks: list[Network] = Field(
        default_factory=list, description="IP addresses or CIDR ranges of the server dialled"
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Response header name -> glob its value must match (e.g. server: 'toko-*')",
    )
    require: bool = Field(
        default=False,
        description="A host of this role whose server identity does not match is not this role",
    )

    @model_validator(mode="after")
    def _something_to_check(self) -> IdentitySpec:
        if not (self.organizations or self.networks or self.headers):
            raise ValueError("identity lists none of organizations, networks, headers")
        return self


class RoleSpec(_Model):
    """One logical back end and the hosts that belong to it."""

    name: RoleName
    hosts: list[HostPattern] = Field(min_length=1)
    description: str = ""
    identity: IdentitySpec | None = None


class EndpointSpec(_Model):
    """A payment-class request: method plus path glob, optionally restricted to a host pattern."""

    name: str = Field(min_length=1)
    method: str = "POST"
    path: str
    host: str | None = None

    @field_validator("method")
    @classmethod
    def _method_known(cls, method: str) -> str:
        m = method.upper()
        if m not in _HTTP_METHODS:
            raise ValueError(f"{method!r} is not an HTTP method (use GET, POST, PUT, ... or '*')")
        return m

    @field_validator("path")
    @classmethod
    def _path_glob(cls, path: str) -> str:
        compile_path_pattern(path)
        return path

    @field_validator("host")
    @classmethod
    def _host_glob(cls, host: str | None) -> str | None:
        if host is not None:
            compile_host_pattern(host)
        return host


class RequiredCall(_Model):
    """A payment call every completed purchase must make: one of `any_of` (endpoint names)."""

    any_of: list[str] = Field(min_length=1)
    description: str = ""


def _required_call(value: Any) -> Any:
    # `- pay` is shorthand for `- {any_of: [pay]}`.
    return {"any_of": [value]} if isinstance(value, str) else value


_ARTEFACT_PATH = re.compile(
    r"^(\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[\*\])+|[A-Za-z_][A-Za-z0-9_-]*)$"
)


class ArtefactField(_Model):
    """Where a payment artefact is minted: a JSON field of an allowed role's responses.

    `path` is a key name found at any depth (`charge_id`) or a path from the body's root
    (`$.data.id`, `$.items[0].token`, `$.items[*].token`); `endpoint` limits it to the
    responses of one payment-class endpoint.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_.-]{0,39}$")
    path: str = Field(min_length=1)
    endpoint: str | None = None

    @field_validator("path")
    @classmethod
    def _path_syntax(cls, path: str) -> str:
        if not _ARTEFACT_PATH.match(path):
            raise ValueError(
                f"{path!r} is not a JSON field: use a key name ('charge_id') or a path from "
                "the root ('$.data.id', '$.items[0].token', '$.items[*].token')"
            )
        return path


class ArtefactPolicy(_Model):
    """Payment artefacts (order and charge ids, card tokens, idempotency keys) minted by the
    allowed roles, tracked like canaries: none may reach another role unless `may_reach` says."""

    fields: list[ArtefactField] = Field(default_factory=list)
    # Fields found by name: order_id, charge_id, payment_id, transaction_id, card/payment
    # tokens, idempotency_key, and `id` in a payment-class endpoint's answer.
    defaults: bool = True
    may_reach: dict[str, list[RoleName]] = Field(
        default_factory=dict,
        description="Artefact name -> roles beside payment.allowed_roles that may hold it",
    )


class PaymentPolicy(_Model):
    """Which requests are payment-class and which roles may serve them."""

    allowed_roles: list[RoleName] = Field(min_length=1)
    endpoints: list[EndpointSpec] = Field(min_length=1)
    invoice_endpoint: str | None = "invoice"
    minimum_flows: int = Field(default=1, ge=1)
    # The endpoint that moves money (double charges are counted on it); default: `charge`.
    charge_endpoint: str | None = None
    # Calls every completed purchase (a test that reached `completed_step`) must make, served
    # by an allowed role: `- pay` or `- {any_of: [charge, va-payment]}`.
    required: list[Annotated[RequiredCall, BeforeValidator(_required_call)]] = Field(
        default_factory=list
    )
    completed_step: str = Field(default="confirm", pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    artefacts: ArtefactPolicy = Field(default_factory=ArtefactPolicy)
    # One upstream identity (certificate organisation or public key) answering both an allowed
    # role and another: a warning by default, a payment failure with `fail`.
    identity_shared: Literal["warn", "fail"] = "warn"

    @model_validator(mode="after")
    def _social_never_allowed(self) -> PaymentPolicy:
        if "social" in self.allowed_roles:
            raise ValueError(
                "allowed_roles contains 'social': social commerce may not process payments "
                "(remove it; use 'commerce' and 'gateway')"
            )
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique, repeated: {', '.join(dupes)}")
        if self.charge_endpoint is not None and self.charge_endpoint not in names:
            raise ValueError(
                f"charge_endpoint {self.charge_endpoint!r} names no endpoint "
                f"(known: {', '.join(names)}; or leave it out)"
            )
        for i, req in enumerate(self.required):
            unknown = [n for n in req.any_of if n not in names]
            if unknown:
                raise ValueError(
                    f"required[{i}] names {', '.join(map(repr, unknown))}, which no endpoint "
                    f"defines (known: {', '.join(names)})"
                )
        for i, art in enumerate(self.artefacts.fields):
            if art.endpoint is not None and art.endpoint not in names:
                raise ValueError(
                    f"artefacts.fields[{i}].endpoint {art.endpoint!r} names no endpoint "
                    f"(known: {', '.join(names)}; or leave it out)"
                )
        if self.invoice_endpoint is not None and self.invoice_endpoint not in names:
            raise ValueError(
                f"invoice_endpoint {self.invoice_endpoint!r} names no endpoint "
                f"(known: {', '.join(names)}; or set it to null)"
            )
        return self


class FieldSpec(_Model):
    """Where to type one buyer value: a selector, inside a chain of iframes."""

    selector: str = Field(min_length=1)
    frames: list[str] | None = None  # None: the flow's checkout_frames


class Action(_Model):
    """One buyer action of a payment method: exactly one of click/fill/check/select/wait/open_link.

    Selectors resolve inside `frames` (default: the flow's checkout_frames; `[]` is the top page).
    `value` may name a test-instrument field in braces, e.g. "{otp}". `open_link` opens the
    link's href in a new tab (as a buyer would) and runs `then` there.
    """

    click: str | None = None
    fill: str | None = None
    check: str | None = None
    select: str | None = None
    wait: str | None = None
    open_link: str | None = None
    value: str | None = None
    frames: list[str] | None = None
    then: list[Action] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_verb(self) -> Action:
        verbs = [
            v for v in ("click", "fill", "check", "select", "wait", "open_link") if getattr(self, v)
        ]
        if len(verbs) != 1:
            raise ValueError(
                "an action has exactly one of click, fill, check, select, wait, open_link "
                f"(got {', '.join(verbs) or 'none'})"
            )
        if (self.fill or self.select) and self.value is None:
            raise ValueError("fill and select actions need a value")
        if self.then and not self.open_link:
            raise ValueError("only open_link actions take `then`")
        return self


class MethodHints(_Model):
    """How to pay with one method: the test instrument and the actions around the Pay click.

    `steps`, if given, is this method's whole purchase (instead of the flow's `steps`).
    """

    instrument: str | None = "success"  # a card behaviour of fixtures/instruments.yaml; null: none
    before_pay: list[Action] = Field(default_factory=list)
    after_pay: list[Action] = Field(default_factory=list)
    expect: Literal["confirmation", "payment_error"] = "confirmation"
    steps: list[FlowStep] | None = None

    @model_validator(mode="after")
    def _steps_or_actions(self) -> MethodHints:
        if self.steps is not None and (self.before_pay or self.after_pay):
            raise ValueError("a method with its own steps takes no before_pay/after_pay")
        return self


class TabHint(_Model):
    """A storefront tab the buyer opens after paying: what to click, what shows it is ready."""

    open: str = Field(min_length=1)
    ready: str = Field(min_length=1)


#: The hints the shorthand purchase needs when a flow gives no `steps`.
HINTS_REQUIRED: tuple[str, ...] = ("product_ready", "buy", "checkout_ready", "pay", "confirmation")


class FlowHints(_Model):
    """How a buyer purchases: `steps` (actions as data), or the shorthand selectors below,
    which expand to steps (see paywitness.flow.expand_hints). A simple shop needs no Python."""

    start_url: str | None = None
    steps: list[FlowStep] | None = None
    product_ready: str | None = None
    buy: str | None = None
    checkout_frames: list[str] = Field(default_factory=list)
    checkout_ready: str | None = None
    fields: dict[
        Literal["name", "email", "phone", "address", "card_number", "card_expiry", "card_cvc"],
        FieldSpec,
    ] = Field(default_factory=dict)
    pay: str | None = None
    confirmation: str | None = None
    order_number: str | None = None
    invoice_link: str | None = None
    payment_error: str | None = None
    methods: dict[str, MethodHints] = Field(
        default_factory=lambda: {"card": MethodHints()}, min_length=1
    )
    close_checkout: str | None = None
    tabs: dict[str, TabHint] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _error_selector_when_expected(self) -> FlowHints:
        for name, m in self.methods.items():
            if m.expect == "payment_error" and not self.payment_error and m.steps is None:
                raise ValueError(
                    f"methods.{name} expects a payment error but payment_error is unset"
                )
        if self.steps is not None:
            check_moments_unique(self.steps, "flow.steps")
        for name, m in self.methods.items():
            if m.steps is not None:
                check_moments_unique(m.steps, f"flow.methods.{name}.steps")
        return self

    @field_validator("tabs")
    @classmethod
    def _tab_names_are_steps(cls, tabs: dict[str, TabHint]) -> dict[str, TabHint]:
        for name in tabs:
            if not _STEP.match(name):
                raise ValueError(f"tab name {name!r} must be a step name (lowercase, digits, - _)")
        return tabs

    def steps_of(self, method: str) -> list[FlowStep] | None:
        """The steps that purchase with `method`: its own, else the flow's (None: shorthand)."""
        how = self.methods.get(method)
        if how is not None and how.steps is not None:
            return how.steps
        return self.steps

    def purchase_problems(self) -> list[str]:
        """Why the standard scenarios cannot drive a purchase with these hints (empty: they can)."""
        problems = []
        for name in self.methods:
            if self.steps_of(name) is None:
                missing = [k for k in HINTS_REQUIRED if not getattr(self, k)]
                if missing:
                    problems.append(
                        f"flow.methods.{name}: no steps, and the shorthand lacks "
                        f"{', '.join(missing)} (give flow.steps, or those selectors)"
                    )
        return problems


class MaskSpec(_Model):
    """A region painted over before screenshots are compared (order numbers, clocks)."""

    selector: str = Field(min_length=1)
    frames: list[str] = Field(default_factory=list)


class SeamlessLimits(_Model):
    """Absolute limits, used for a figure when the run has no baseline to compare it with.

    A figure with neither a baseline nor a limit is `not_judged`. Vitals default to the Web
    Vitals "good" thresholds and may never be set above "poor".
    """

    timings_ms: dict[str, float] = Field(
        default_factory=lambda: {"buy_to_checkout_ready_ms": 1000.0}
    )
    cls: float | None = Field(default=None, ge=0)
    inp_ms: float | None = Field(default=None, ge=0)
    lcp_ms: float | None = Field(default=None, ge=0)
    errors: int | None = Field(default=None, ge=0)
    navigations: int | None = Field(default=None, ge=0)
    actions: int | None = Field(default=None, ge=0)
    origins: int | None = Field(default=None, ge=1)

    @field_validator("timings_ms")
    @classmethod
    def _timing_names(cls, limits: dict[str, float]) -> dict[str, float]:
        from paywitness.seamless_checks import TIMING_NAME

        for name, value in limits.items():
            if not TIMING_NAME.match(name):
                raise ValueError(
                    f"{name!r} is not a timing figure (known: buy_to_checkout_ready_ms, "
                    "pay_to_confirmation_ms, checkout_document_ms, pay_to_first_feedback_ms, "
                    "open_<tab>_tab_ms)"
                )
            if value <= 0:
                raise ValueError(f"the limit of {name} must be more than 0 ms, not {value:g}")
        return limits


class SeamlessWaiver(_Model):
    """A seamless check the profile accepts leaving unjudged, and why (printed in every report)."""

    check: str = Field(min_length=1)
    reason: str = Field(min_length=3)

    @field_validator("check")
    @classmethod
    def _known_check(cls, name: str) -> str:
        from paywitness.seamless_checks import CHECKS, short_name

        if short_name(name) not in CHECKS:
            raise ValueError(
                f"{name!r} is not a seamless check; waivable checks: {', '.join(CHECKS)}"
            )
        return short_name(name)


class SeamlessPolicy(_Model):
    """Thresholds of the seamless category: the buyer must not notice the hand-off.

    Against a baseline, a timing fails when the target is significantly slower than
    `timing_factor` x the baseline (one-sided Mann-Whitney U at `alpha`, see
    `paywitness.seamless.stats`) and by more than `timing_noticeable_ms`; without one,
    `limits` apply.
    """

    cls_good: float = 0.1
    cls_poor: float = 0.25
    inp_good_ms: float = 200
    inp_poor_ms: float = 500
    lcp_good_ms: float = 2500
    lcp_poor_ms: float = 4000
    cls_over_baseline: float = Field(default=0.05, ge=0)
    timing_factor: float = Field(default=1.2, ge=1)
    # The smallest slowdown of a timing's median a buyer can notice: RAIL's 100 ms, under which
    # a response feels instant (0: any significant slowdown above the ratio fails).
    timing_noticeable_ms: float = Field(default=100, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    # Repeats of each side when the run has a baseline (1 is allowed and reported as such).
    repeat: int = Field(default=3, ge=1, le=50)
    limits: SeamlessLimits = Field(default_factory=SeamlessLimits)
    waive: list[SeamlessWaiver] = Field(default_factory=list)
    pixel_threshold: float = Field(default=0.2, gt=0, le=1)
    pixel_budget: float = Field(default=0.02, ge=0, le=1)
    screens: list[str] = Field(default_factory=lambda: ["browse", "checkout-ready", "confirmation"])
    mask: list[MaskSpec] = Field(default_factory=list)
    login_paths: list[str] = Field(default_factory=lambda: ["/**/login*", "/**/signin*"])

    @field_validator("login_paths")
    @classmethod
    def _login_globs(cls, paths: list[str]) -> list[str]:
        for p in paths:
            compile_path_pattern(p)
        return paths

    @model_validator(mode="after")
    def _vitals_never_above_poor(self) -> SeamlessPolicy:
        for name, limit, poor in (
            ("cls", self.limits.cls, self.cls_poor),
            ("inp_ms", self.limits.inp_ms, self.inp_poor_ms),
            ("lcp_ms", self.limits.lcp_ms, self.lcp_poor_ms),
        ):
            if limit is not None and limit > poor:
                raise ValueError(
                    f"limits.{name} {limit:g} is above the Web Vitals 'poor' threshold {poor:g}; "
                    "a limit may be at most 'poor'"
                )
        return self

    def waiver(self, check: str) -> SeamlessWaiver | None:
        """The waiver of this check (`seamless.x` or `x`), if the profile gives one."""
        name = check.removeprefix("seamless.")
        return next((w for w in self.waive if w.check == name), None)


class DisplayEndpoint(_Model):
    """Responses that may feed a display (any host unless `host` is given)."""

    path: str
    method: str = "GET"
    host: str | None = None

    @field_validator("path")
    @classmethod
    def _path_glob(cls, path: str) -> str:
        compile_path_pattern(path)
        return path


class DisplaySpec(_Model):
    """A merchant display and the role that must feed it: values on screen matched to responses.

    `selector` finds the shown values (text, or `attribute`), `parse` normalises them, `field`
    names the JSON field carrying the same value in a response of `endpoints`; `key_attribute`
    (on the element or an ancestor) and `key_field` pair each value with its record.
    """

    name: str = Field(min_length=1)
    selector: str = Field(min_length=1)
    attribute: str | None = None
    parse: Literal["text", "digits", "first-int", "amount"] = "text"
    field: str | None = Field(default=None, min_length=1)
    # A computed display: the screen shows this over served fields of one object, e.g.
    # `price + shipping` (+ - * and parentheses); shown values are read as amounts in `locale`.
    expression: str | None = None
    locale: str = Field(default="id-ID", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    key_attribute: str | None = None
    key_field: str | None = None
    endpoints: list[DisplayEndpoint] = Field(min_length=1)
    fed_by: list[RoleName] = Field(default_factory=lambda: ["commerce"])  # type: ignore[arg-type]
    authority: RoleName | None = None
    plain: bool = False
    required: bool = True

    @field_validator("expression")
    @classmethod
    def _expression_parses(cls, text: str | None) -> str | None:
        if text is not None:
            from paywitness.expressions import parse_expression

            parse_expression(text)
        return text

    def expression_fields(self) -> tuple[str, ...]:
        """The served fields the expression reads (none without an expression)."""
        if self.expression is None:
            return ()
        from paywitness.expressions import parse_expression

        return parse_expression(self.expression).names

    def digest_fields(self) -> tuple[str, ...]:
        """The JSON fields the recorder hashes for this display (plain for an expression)."""
        names = (self.field, *self.expression_fields(), self.key_field)
        return tuple(n for n in names if n)

    @model_validator(mode="after")
    def _keys_paired(self) -> DisplaySpec:
        if (self.field is None) == (self.expression is None):
            raise ValueError(
                f"display {self.name!r} needs exactly one of `field` (a served value shown as "
                "it is) and `expression` (computed from served fields, e.g. 'price + shipping')"
            )
        if self.expression is not None and self.authority is not None:
            raise ValueError("authority compares one field; it cannot be used with expression")
        if (self.key_attribute is None) != (self.key_field is None):
            raise ValueError("key_attribute and key_field go together (set both or neither)")
        if self.authority is not None and self.key_field is None:
            raise ValueError("authority needs key_attribute/key_field to pair values")
        return self


class NoiseSpec(_Model):
    """Traffic the browser makes on its own: classified `browser`, never judged as the target's."""

    hosts: list[HostPattern] = Field(default_factory=list)


class CoveragePolicy(_Model):
    """How much of what the browser requested the proxy must have seen for a verdict."""

    payment_class: float = Field(default=1.0, ge=0.0, le=1.0)
    overall: float = Field(default=0.99, ge=0.0, le=1.0)
    enabled: bool = True


def _override_target(value: str) -> str:
    u = urlsplit(value)
    try:
        port = u.port
    except ValueError:
        port = None
    if u.scheme not in ("http", "https") or not u.hostname or port is None:
        raise ValueError(f"{value!r} is not SCHEME://ADDRESS:PORT (e.g. 'https://127.0.0.1:8443')")
    return value


OverrideTarget = Annotated[str, AfterValidator(_override_target)]


GateCategory = Category  # the one vocabulary (paywitness.categories)
GateSeverity = Literal["critical", "major", "minor", "info"]
_SEVERITIES: tuple[GateSeverity, ...] = ("critical", "major", "minor", "info")


class GatePolicy(_Model):
    """CI gate: which categories fail the build and which only warn; which severities count."""

    categories: dict[GateCategory, Literal["fail", "warn"]] = Field(default_factory=dict)
    severities: list[GateSeverity] = Field(default_factory=lambda: list(_SEVERITIES), min_length=1)
    inconclusive: Literal["fail", "warn"] = "fail"

    def action(self, category: str) -> str:
        """`fail` unless the profile says `warn` (the default: every category fails)."""
        actions = {str(k): str(v) for k, v in self.categories.items()}
        return actions.get(category, "fail")


#: The canary kinds a `data` policy may name (the split fields of real forms among them).
CanaryKindName = CanaryKind

#: Without a `data` section: card numbers reach the gateway only; the buyer's contact, address
#: and order marker reach commerce and the gateway; social and everyone else receive none.
DEFAULT_DATA_ALLOWED: dict[CanaryKindName, list[RoleName]] = {
    "card": ["gateway"],
    "name": ["commerce", "gateway"],
    "email": ["commerce", "gateway"],
    "phone": ["commerce", "gateway"],
    "address": ["commerce", "gateway"],
    "marker": ["commerce", "gateway"],
    "given_name": ["commerce", "gateway"],
    "family_name": ["commerce", "gateway"],
    "address_line2": ["commerce", "gateway"],
    "city": ["commerce", "gateway"],
    "region": ["commerce", "gateway"],
    "postcode": ["commerce", "gateway"],
}


#: A split field the profile does not list may go where its whole value may (a profile written
#: before the split fields existed keeps meaning what it said).
SPLIT_FIELD_OF: dict[str, str] = {
    "given_name": "name",
    "family_name": "name",
    "address_line2": "address",
    "city": "address",
    "region": "address",
    "postcode": "address",
}


class DataPolicy(_Model):
    """Data separation: which roles may receive each canary kind (a kind not listed: none)."""

    allowed_roles: dict[CanaryKindName, list[RoleName]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_DATA_ALLOWED.items()}
    )

    @model_validator(mode="before")
    @classmethod
    def _split_fields_follow_their_whole(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("allowed_roles"), dict):
            roles = dict(data["allowed_roles"])
            for part, whole in SPLIT_FIELD_OF.items():
                if part not in roles and whole in roles:
                    roles[part] = roles[whole]
            data = {**data, "allowed_roles": roles}
        return data


class RegulationClause(_Model):
    """The legal clause a category or check enforces, printed beside it in every report."""

    clause: str = Field(min_length=1, description="e.g. 'Permendag 31/2023 Pasal 21 ayat (3)'")
    text: str = Field(default="", description="The clause's wording, quoted in reports")
    url: str | None = None


def _clause_shorthand(value: object) -> object:
    return {"clause": value} if isinstance(value, str) else value


ClauseSpec = Annotated[RegulationClause, BeforeValidator(_clause_shorthand)]


class EvidencePolicy(_Model):
    """How the evidence bundle is sealed and summarised."""

    signing_key: str | None = Field(
        default=None,
        description="Ed25519 key file that signs each bundle's manifest (below --sign and "
        "$PAYWITNESS_SIGNING_KEY); make one with `paywitness keys init`",
    )
    history_runs: int = Field(
        default=10, ge=2, le=200, description="Runs shown in report.html's trend chart"
    )


class Profile(_Model):
    """A target: its roles, payment policy, browser noise and purchase flow hints."""

    version: Literal[1, 2] = 1
    name: str = Field(min_length=1)
    description: str = ""
    start_url: str
    roles: list[RoleSpec] = Field(min_length=1)
    payment: PaymentPolicy
    noise: NoiseSpec = Field(default_factory=NoiseSpec)
    flow: FlowHints | None = None
    gate: GatePolicy = Field(default_factory=GatePolicy)
    data: DataPolicy = Field(default_factory=DataPolicy)
    host_overrides: dict[HostPattern, OverrideTarget] = Field(
        default_factory=dict,
        description="Like curl --resolve: HOST -> SCHEME://ADDRESS:PORT the proxy dials instead",
    )
    coverage: CoveragePolicy = Field(default_factory=CoveragePolicy)
    seamless: SeamlessPolicy = Field(default_factory=SeamlessPolicy)
    displays: list[DisplaySpec] = Field(default_factory=list)
    # Fault rules applied to the whole run (see paywitness.faults for the syntax).
    faults: list[str] = Field(default_factory=list)
    # The browser every scenario runs in, and the faults the resilience scenarios inject.
    browser: BrowserSpec = Field(default_factory=BrowserSpec)
    resilience: list[ResilienceRule] = Field(default_factory=list)

    @field_validator("resilience")
    @classmethod
    def _rule_names_unique(cls, rules: list[ResilienceRule]) -> list[ResilienceRule]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"resilience rule names must be unique, repeated: {', '.join(dupes)}")
        return rules

    # Evidence (issue 16): the clause each category or check enforces (a check id wins over
    # its category), and how bundles are sealed.
    regulation: dict[str, ClauseSpec] = Field(
        default_factory=dict,
        description="Category (payment, data, merchant_ops, seamless) or check id -> clause",
    )
    evidence: EvidencePolicy = Field(default_factory=EvidencePolicy)

    def clause_for(self, check_id: str, category: str) -> RegulationClause | None:
        """The clause printed beside a check: its own, else its category's."""
        return self.regulation.get(check_id) or self.regulation.get(category)

    @field_validator("faults")
    @classmethod
    def _faults_parse(cls, faults: list[str]) -> list[str]:
        from paywitness.faults import parse_fault_rules

        parse_fault_rules(faults)
        return faults

    @field_validator("start_url")
    @classmethod
    def _start_url_is_http(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"{url!r} is not an http(s) URL (e.g. 'https://shop.example.com/')")
        return url

    @model_validator(mode="after")
    def _roles_consistent(self) -> Profile:
        names = [r.name for r in self.roles]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"each role appears once; repeated: {', '.join(dupes)}")
        missing = [r for r in self.payment.allowed_roles if r not in names]
        if missing:
            raise ValueError(
                f"payment.allowed_roles names {', '.join(missing)}, which no entry of roles "
                "defines (add the role with its hosts, or remove it)"
            )
        if "data" in self.model_fields_set:
            unknown = sorted(
                {r for roles in self.data.allowed_roles.values() for r in roles} - set(names)
            )
            if unknown:
                raise ValueError(
                    f"data.allowed_roles names {', '.join(unknown)}, which no entry of roles "
                    "defines (add the role with its hosts, or remove it)"
                )
        return self

    def role_hosts(self, role: str) -> list[str]:
        return [h for r in self.roles if r.name == role for h in r.hosts]


def demo_profile_path() -> Path:
    """The built-in demo shop's profile (fixtures/profiles/demo.yaml beside the package)."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here.parent / "fixtures" / "profiles" / "demo.yaml",
        here / "demo" / "demo.yaml",
    ):
        if candidate.is_file():
            return candidate
    raise ProfileError(
        "the built-in demo profile was not found next to the paywitness package "
        f"(looked in {here.parent / 'fixtures' / 'profiles'}); reinstall from a checkout with "
        "`pip install -e .`"
    )


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before", "literal[")):
            continue
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        where = _loc(e["loc"])
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling against the documented profile keys)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] == "literal_error":
            msg = f"{e.get('input')!r} is not allowed: {msg}"
        lines.append(f"  {where}: {msg}")
    return f"profile {path} is invalid:\n" + "\n".join(lines)


def load_profile(path: Path | str) -> Profile:
    """Load and validate a profile; every problem is a ProfileError naming file, key and fix."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ProfileError(
            f"profile {p} does not exist; pass the path of a YAML profile "
            "(the demo's is fixtures/profiles/demo.yaml)"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"profile {p} cannot be read: {e}") from e
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ProfileError(f"profile {p} is not valid YAML: {e}".replace("\n", " ")) from e
    if not isinstance(data, dict):
        raise ProfileError(
            f"profile {p} must be a YAML mapping with keys name, start_url, roles and payment "
            f"(got {type(data).__name__})"
        )
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise ProfileError(_format_validation(p, e)) from e


def profile_digest(path: Path) -> str:
    """SHA-256 of the profile file as loaded, for run metadata."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
