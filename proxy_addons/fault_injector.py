"""Fault injector: make chosen requests fail at the proxy (5xx, delay, timeout, reset).

Rules use the compact syntax of `paywitness.faults` and match by role, host, method and path;
every injected fault is written to the flow's metadata (`paywitness.fault`), which the backend
recorder copies into the ledger record (`extra.fault`). Holding a flow is an `asyncio.sleep` in
an async hook: only that flow waits, the proxy keeps serving every other one.

Standalone: mitmdump -s proxy_addons/fault_injector.py \
    --set paywitness_faults='host=pay.gateway.test path=/v1/charges status=502 first=1'
Role rules need the profile: add --set paywitness_profile=fixtures/profiles/demo.yaml.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from paywitness.addon_options import add_profile_option, configured_classifier
from paywitness.classify import MARKER_HOST, Classifier
from paywitness.faults import FaultRule, parse_fault_rules

__all__ = ["FAULT_METADATA", "FaultInjector"]

FAULT_METADATA = "paywitness.fault"


class _Active:
    """A rule set with its own `first=N` budgets (replaced whole, never edited in place)."""

    def __init__(self, rules: Sequence[FaultRule]) -> None:
        self.rules = tuple(rules)
        self.used = [0] * len(self.rules)
        self.lock = threading.Lock()

    def take(
        self,
        phase: str,
        *,
        role: str | None,
        endpoint: str | None,
        host: str,
        method: str,
        path: str,
    ) -> int:
        """Index of the first matching rule with budget left (-1 if none); spends its budget."""
        with self.lock:
            for i, rule in enumerate(self.rules):
                if rule.phase != phase:
                    continue
                if not rule.matches(
                    role=role, host=host, method=method, path=path, endpoint=endpoint
                ):
                    continue
                if rule.first is not None and self.used[i] >= rule.first:
                    continue
                self.used[i] += 1
                return i
        return -1


class FaultInjector:
    """Injects the configured faults; base rules from options, per-test rules on top."""

    def __init__(
        self, *, classifier: Classifier | None = None, rules: Sequence[FaultRule] = ()
    ) -> None:
        self.classifier = classifier
        self._own = tuple(rules)
        self._base = _Active(rules)
        self._test = _Active(())
        self.injected = 0

    # -- options (standalone use) -------------------------------------------------------------
    def load(self, loader: Loader) -> None:
        loader.add_option(
            "paywitness_faults",
            Sequence[str],
            [],
            "Fault rules, e.g. 'role=gateway path=/v1/charges status=502 first=1' "
            "(keys: role host method path first phase; one of status delay timeout reset)",
        )
        add_profile_option(loader)

    def configure(self, updated: set[str]) -> None:
        classifier = configured_classifier(updated)
        if classifier is not None:
            self.classifier = classifier
        if "paywitness_faults" in updated or "paywitness_profile" in updated:
            try:
                rules = parse_fault_rules(ctx.options.paywitness_faults)
            except ValueError as e:
                raise exceptions.OptionsError(f"paywitness_faults: {e}") from e
            self._check_roles(rules, "paywitness_faults")
            self._base = _Active([*self._own, *rules])

    def _check_roles(self, rules: Sequence[FaultRule], source: str) -> None:
        if self.classifier is None and any(r.role or r.endpoint for r in rules):
            raise exceptions.OptionsError(
                f"{source}: rules with role= or endpoint= need the target profile; "
                "set paywitness_profile=PATH (or match by host= instead)"
            )

    # -- in-process API -----------------------------------------------------------------------
    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """Every rule in force: the run's own, then the current test's."""
        return self._base.rules + self._test.rules

    def set_rules(self, rules: Sequence[FaultRule]) -> None:
        """Replace the run's base rules (budgets start again)."""
        self._own = tuple(rules)
        self._base = _Active(rules)

    def set_test_rules(self, rules: Sequence[FaultRule]) -> None:
        """Rules for the current test only, on top of the base rules (budgets start again)."""
        self._test = _Active(rules)

    def clear_test_rules(self) -> None:
        self._test = _Active(())

    # -- mitmproxy events ---------------------------------------------------------------------
    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.error is not None:
            return
        await self._maybe_inject(flow, "request")

    async def response(self, flow: http.HTTPFlow) -> None:
        if flow.error is not None or flow.metadata.get(FAULT_METADATA):
            return
        await self._maybe_inject(flow, "response")

    # -- the fault ----------------------------------------------------------------------------
    def _pick(self, flow: http.HTTPFlow, phase: str) -> FaultRule | None:
        host = str(flow.metadata.get("paywitness.host") or flow.request.pretty_host).lower()
        if host == MARKER_HOST:
            return None
        method, path = flow.request.method, flow.request.path
        role = endpoint = None
        if self.classifier is not None:
            c = self.classifier.classify(host, method, path)
            role, endpoint = c.role, c.payment_class
        # Test rules first: a scenario's own faults are the ones it counts on.
        for active in (self._test, self._base):
            i = active.take(
                phase, role=role, endpoint=endpoint, host=host, method=method, path=path
            )
            if i >= 0:
                return active.rules[i]
        return None

    async def _maybe_inject(self, flow: http.HTTPFlow, phase: str) -> None:
        rule = self._pick(flow, phase)
        if rule is None:
            return
        self.injected += 1
        fault = rule.describe()
        if phase == "response" and flow.response is not None:
            fault["upstream_status"] = flow.response.status_code
        flow.metadata[FAULT_METADATA] = fault
        if rule.action in ("delay", "timeout") and rule.ms:
            await asyncio.sleep(rule.ms / 1000)
        if rule.action == "status":
            headers = {"content-type": "text/plain; charset=utf-8", "x-paywitness-fault": "1"}
            origin = flow.request.headers.get("origin")
            if origin:
                # As a failing server of the target would: the page may read the error.
                headers["access-control-allow-origin"] = origin
                headers["access-control-allow-credentials"] = "true"
            flow.response = http.Response.make(
                rule.status,
                f"{rule.status} injected by paywitness fault rule: {rule.text}\n".encode(),
                headers,
            )
        elif rule.action in ("timeout", "reset") and flow.killable:
            flow.kill()


addons = [FaultInjector()]
