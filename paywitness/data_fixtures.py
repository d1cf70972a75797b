"""Fixtures of data separation (registered by `paywitness.plugin`): canary watch and observers.

The session's `paywitness_canary_watch` addon sits first in the proxy; each witnessed test gets
its own `paywitness_data` (the test's canaries, active from setup to teardown) and
`paywitness_client_channels` (postMessage, sendBeacon, storage and cookies in the browser).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paywitness.client_channels import ClientChannels
from paywitness.data_watch import DataWatch
from paywitness.evidence.capture import StepCapture
from paywitness.evidence.pytest_evidence import TEST_CANARIES_KEY
from paywitness.evidence.redaction import CANARIES_FILE, Redactor
from paywitness.run import RunContext
from proxy_addons.backend_recorder import BackendRecorder
from proxy_addons.canary_watch import CanaryWatch

__all__ = ["paywitness_canary_watch", "paywitness_client_channels", "paywitness_data"]


@pytest.fixture(scope="session")
def paywitness_canary_watch() -> CanaryWatch:
    """The proxy addon searching every flow for the current test's canaries."""
    return CanaryWatch()


@pytest.fixture
def paywitness_data(
    paywitness_canary_watch: CanaryWatch,
    paywitness_recorder: BackendRecorder,
    paywitness_redactor: Redactor,
    paywitness_run: RunContext,
    paywitness_capture: StepCapture,
    request: pytest.FixtureRequest,
) -> Iterator[DataWatch]:
    """This test's canaries, searched in all traffic from setup until teardown."""
    watch = DataWatch(
        recorder=paywitness_recorder,
        watch=paywitness_canary_watch,
        redactor=paywitness_redactor,
        canaries_file=paywitness_run.output / CANARIES_FILE,
        test_id=request.node.nodeid,
        worker=paywitness_run.worker,
    )
    # paywitness_capture registered the buyer/card fixtures' canaries with the redactor.
    watch.start(request.node.stash.get(TEST_CANARIES_KEY, None))
    try:
        yield watch
    finally:
        watch.stop()


@pytest.fixture
def paywitness_client_channels(
    paywitness_recorder: BackendRecorder, paywitness_data: DataWatch
) -> ClientChannels:
    """This test's browser-side observer: postMessage, sendBeacon, storage and cookies."""
    return ClientChannels(paywitness_recorder, paywitness_data.scan)
