"""What a worker's loop tells its metrics and its ``/readyz``: one small object, a no-op by default.

:class:`LoopObserver` is what :class:`streams.worker.batch_loop.BatchLoop` calls (it does nothing, so
``txscreen copy`` and tests pay nothing); :class:`WorkerObserver` feeds :class:`WorkerMetrics` and
:class:`Health`. Batches are counted when their output is *committed* (the transaction, or the
offsets after the flush), so the counters equal what a ``read_committed`` reader of the outputs finds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from confluent_kafka import Consumer

from streams.metrics.lag import partition_lags
from streams.metrics.registry import WorkerMetrics
from streams.metrics.server import Health

#: Seconds between two readings of the lag (the reading is local, but needs no more).
LAG_INTERVAL = 1.0
#: Seconds without a committed batch after which the lag is asked of the broker, and then how often
#: (the cached partition ends of a consumer that fetches nothing are those of its last fetch; while it
#: is idle, only those readings set the gauge).
FRESH_LAG_AFTER = 15.0


class LoopObserver:
    """The loop's events; every method does nothing here."""

    def assigned(self, partitions: int) -> None:
        """The worker now owns ``partitions`` partitions."""

    def committed(self, counts: Mapping[str, int], *, transaction: bool, seconds: float) -> None:
        """A batch's output and offsets were committed, ``seconds`` after it was consumed."""

    def aborted(self) -> None:
        """A transaction was aborted (its batch is consumed again)."""

    def tick(self, consumer: Consumer) -> None:
        """Called once per loop turn with the consumer (read the lag here)."""

    def stopping(self) -> None:
        """The loop stops."""


class WorkerObserver(LoopObserver):
    """Feeds a worker's metrics and health."""

    def __init__(
        self, metrics: WorkerMetrics, health: Health, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.metrics = metrics
        self.health = health
        self._clock = clock
        self._lag_read_at = -LAG_INTERVAL
        self._committed_at = clock()  # when a batch was last committed (or the observer made)
        self._fresh_at = -FRESH_LAG_AFTER  # when the lag was last asked of the broker

    def assigned(self, partitions: int) -> None:
        self.health.assigned(partitions)
        if partitions == 0:
            self.metrics.set_lag(())

    def committed(self, counts: Mapping[str, int], *, transaction: bool, seconds: float) -> None:
        self.metrics.committed(counts, transaction=transaction, seconds=seconds)
        self._committed_at = self._clock()

    def aborted(self) -> None:
        self.metrics.aborted()

    def tick(self, consumer: Consumer) -> None:
        """Read the lag every :data:`LAG_INTERVAL` from the fetches' cached ends; after
        :data:`FRESH_LAG_AFTER` without a committed batch, every as long from the broker instead."""
        now = self._clock()
        if now - self._committed_at < FRESH_LAG_AFTER:
            if now - self._lag_read_at < LAG_INTERVAL:
                return
            self._lag_read_at = now
            lags = partition_lags(consumer)
        else:
            if now - self._fresh_at < FRESH_LAG_AFTER:
                return
            self._fresh_at = now
            lags = partition_lags(consumer, fresh=True)
        if lags is not None:
            self.metrics.set_lag(lags)

    def stopping(self) -> None:
        self.health.stopped()
