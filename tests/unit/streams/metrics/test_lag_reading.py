"""The consumer-lag gauge of a worker: cached ends while batches commit, the broker's after an idle spell."""

from __future__ import annotations

from streams.metrics.lag import partition_lags, total_lag
from streams.metrics.observer import FRESH_LAG_AFTER, LAG_INTERVAL, WorkerObserver
from streams.metrics.registry import WorkerMetrics
from streams.metrics.server import Health
from tests.unit.streams.fakes import LaggingConsumer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lag(metrics: WorkerMetrics) -> float | None:
    return metrics.registry.get_sample_value("txscreen_consumer_lag", {"topic": "payments", "partition": "0"})


def test_a_stalled_fetch_shows_its_lag_once_the_worker_has_been_idle() -> None:
    """While batches commit the gauge reads the fetches' cached ends (no broker call); after
    FRESH_LAG_AFTER seconds without a commit it asks the broker every as long and only that sets it, so a
    stalled fetch no longer reads 0; a commit brings the cached readings back."""
    clock, metrics, consumer = Clock(), WorkerMetrics(), LaggingConsumer()
    observer = WorkerObserver(metrics, Health(), clock=clock)
    observer.tick(consumer)  # type: ignore[arg-type]
    assert (_lag(metrics), consumer.asked_broker) == (0, 0)
    clock.now += FRESH_LAG_AFTER - 1
    observer.committed({}, transaction=True, seconds=0.1)
    clock.now += FRESH_LAG_AFTER - 1
    observer.tick(consumer)  # type: ignore[arg-type]
    assert (_lag(metrics), consumer.asked_broker) == (0, 0)
    clock.now += 1
    observer.tick(consumer)  # type: ignore[arg-type]
    assert (_lag(metrics), consumer.asked_broker) == (40, 1)
    clock.now += LAG_INTERVAL
    observer.tick(consumer)  # type: ignore[arg-type]
    assert (_lag(metrics), consumer.asked_broker) == (40, 1)  # no cached reading while idle
    clock.now += FRESH_LAG_AFTER
    observer.tick(consumer)  # type: ignore[arg-type]
    assert consumer.asked_broker == 2  # asked again FRESH_LAG_AFTER later
    observer.committed({}, transaction=True, seconds=0.1)
    clock.now += LAG_INTERVAL
    observer.tick(consumer)  # type: ignore[arg-type]
    assert (_lag(metrics), consumer.asked_broker) == (0, 2)  # consuming again: cached ends


def test_a_broker_that_does_not_answer_leaves_the_cached_end() -> None:
    """A fresh reading whose broker look-up times out falls back on the cached end, never on no lag."""
    consumer = LaggingConsumer(cached_end=25)
    consumer.broker_answers = False
    assert partition_lags(consumer, fresh=True) == [("payments", 0, 15)]  # type: ignore[arg-type]
    assert consumer.asked_broker == 1


def test_unknown_positions_keep_the_gauge_and_read_unknown_in_the_status_line() -> None:
    """When the consumer cannot give its positions the gauge keeps its last value and the total is None."""
    clock, metrics, consumer = Clock(), WorkerMetrics(), LaggingConsumer(cached_end=12)
    observer = WorkerObserver(metrics, Health(), clock=clock)
    observer.tick(consumer)  # type: ignore[arg-type]
    assert _lag(metrics) == 2
    consumer.positions_known = False
    clock.now += LAG_INTERVAL
    observer.tick(consumer)  # type: ignore[arg-type]
    assert _lag(metrics) == 2
    assert total_lag(consumer) is None  # type: ignore[arg-type]
