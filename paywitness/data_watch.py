"""One test's canaries: planted in the ledger, masked in the bundle, searched by the proxy.

The ledger gets a `plant` record (method `PLANT`, role `paywitness`) listing the kinds and
salted hashes of what was planted, never the values: the data analyser needs to know that
something was planted before "nothing leaked" can mean a pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from paywitness.analysers.data import PLANT_METHOD
from paywitness.canaries import Canary, CanaryHit, CanarySet
from paywitness.evidence.redaction import Redactor
from paywitness.records import RecordBook
from proxy_addons.canary_watch import CanaryWatch

__all__ = ["DataWatch"]


class DataWatch:
    """Holds the test's canary set and hands it to the proxy addon and the browser observer."""

    def __init__(
        self,
        *,
        book: RecordBook,
        watch: CanaryWatch,
        redactor: Redactor,
        canaries_file: Path,
        test_id: str,
        worker: str,
    ) -> None:
        self.book = book
        self.watch = watch
        self.redactor = redactor
        self.canaries_file = canaries_file
        self.test_id = test_id
        self.worker = worker
        self.canaries = CanarySet((), redactor.salt)

    def start(self, initial: CanarySet | None) -> None:
        """Search for the test's fixture canaries (registered with the redactor already)."""
        if initial is not None and initial.canaries:
            self.canaries = initial
            self.watch.set_canaries(initial)
            self._write_plant(initial)

    def plant(self, canaries: Iterable[Canary]) -> None:
        """Add values the test made itself (e.g. the card of a payment method), from now on."""
        new = [c for c in canaries if c not in self.canaries.canaries]
        if not new:
            return
        added = self.redactor.add_canaries(new)
        if added.canaries:
            self.redactor.write_canaries(
                self.canaries_file, added, test=self.test_id, worker=self.worker
            )
        self.canaries = CanarySet(
            (*self.canaries.canaries, *new), self.redactor.salt, self.canaries.seed
        )
        self.watch.set_canaries(self.canaries)
        self._write_plant(CanarySet(tuple(new), self.redactor.salt, self.canaries.seed))

    def stop(self) -> None:
        """Search for nothing until the next test plants its own canaries."""
        self.watch.set_canaries(None)

    def scan(self, data: str, location: str) -> list[CanaryHit]:
        """The active canaries in data observed outside the proxy."""
        return self.watch.scan(data, location)

    def _write_plant(self, canaries: CanarySet) -> None:
        self.book.note(
            "plant",
            method=PLANT_METHOD,
            role="paywitness",
            rule="planted-canaries",
            test=self.test_id,
            extra={"planted": canaries.manifest()["canaries"]},
        )
