"""The fetch-stall watch (streams.worker.stall): a consumer that fetches nothing while events wait is sought
to its positions, and the worker stops if that does not help; idle partitions at their end are left alone."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from schemas.errors import BrokerError
from streams.worker.stall import GIVE_UP_AFTER, PROBE_AFTER, PROBE_EVERY, FetchStallWatch

TOPIC = "payments"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StalledConsumer:
    """Assigned partitions with positions, committed offsets and partition ends; records each seek."""

    def __init__(self, positions: dict[int, int], ends: dict[int, int], committed: dict[int, int]) -> None:
        self.positions, self.ends, self.committed_offsets = positions, ends, committed
        self.sought: list[tuple[int, int]] = []
        self.down = False
        self.cached_queries = 0

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, p) for p in self.positions]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, tp.partition, self.positions[tp.partition]) for tp in partitions]

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        offsets = self.committed_offsets
        return [TopicPartition(TOPIC, tp.partition, offsets[tp.partition]) for tp in partitions]

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float, cached: bool) -> tuple[int, int]:
        if cached:
            self.cached_queries += 1
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return 0, self.ends[tp.partition]

    def seek(self, tp: TopicPartition) -> None:
        self.sought.append((tp.partition, tp.offset))


def _watch(clock: Clock) -> FetchStallWatch:
    return FetchStallWatch(TOPIC, clock=clock)


def test_a_stalled_consumer_is_sought_to_its_positions_then_stopped() -> None:
    """Idle with events waiting: a seek to the positions first; still nothing later: a BrokerError."""
    clock = Clock()
    consumer = StalledConsumer({0: 100, 1: 50}, {0: 180, 1: 50}, {0: 100, 1: 50})
    watch, idle_since = _watch(clock), clock.now
    clock.now += PROBE_AFTER - 1
    watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == []  # not idle long enough yet
    clock.now += 1
    watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == [(0, 100)]  # only the partition with events past its position
    assert consumer.cached_queries == 0  # the broker is asked, not the cache
    while clock.now - idle_since < PROBE_AFTER + GIVE_UP_AFTER - PROBE_EVERY:
        clock.now += PROBE_EVERY
        watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == [(0, 100)]  # one seek, then patience
    clock.now += PROBE_EVERY
    with pytest.raises(BrokerError, match=r"consumed nothing for .*payments\[0\]@100 \(80 after it\)"):
        watch.check(consumer, idle_since)  # type: ignore[arg-type]


def test_a_consumer_at_the_end_of_its_partitions_is_left_alone() -> None:
    """Idle because nothing new arrived: no seek, no stop, however long it idles."""
    clock = Clock()
    consumer = StalledConsumer({0: 100, 1: 50}, {0: 100, 1: 50}, {0: 100, 1: 50})
    watch, idle_since = _watch(clock), clock.now
    for _ in range(100):
        clock.now += PROBE_EVERY
        watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == []


def test_consuming_again_ends_the_stall() -> None:
    """After a seek that helped (events consumed), a later stall starts over with a seek, not a stop."""
    clock = Clock()
    consumer = StalledConsumer({0: 100}, {0: 180}, {0: 100})
    watch, idle_since = _watch(clock), clock.now
    clock.now += PROBE_AFTER
    watch.check(consumer, idle_since)  # type: ignore[arg-type]
    idle_since = clock.now + 1  # a batch was consumed
    clock.now += GIVE_UP_AFTER
    watch.check(consumer, idle_since)  # type: ignore[arg-type]
    clock.now += PROBE_AFTER
    watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == [(0, 100), (0, 100)]


def test_a_partition_never_fetched_is_measured_from_its_committed_offset() -> None:
    """No position yet (nothing fetched since the assignment): the committed offset is where it stalls."""
    clock = Clock()
    consumer = StalledConsumer({0: -1001}, {0: 500}, {0: 420})
    watch = _watch(clock)
    clock.now += PROBE_AFTER
    watch.check(consumer, clock.now - PROBE_AFTER)  # type: ignore[arg-type]
    assert consumer.sought == [(0, 420)]


def test_a_broker_that_does_not_answer_is_no_stall() -> None:
    """During an outage the probe fails: no seek and no stop (the outage has its own handling)."""
    clock = Clock()
    consumer = StalledConsumer({0: 100}, {0: 180}, {0: 100})
    consumer.down = True
    watch, idle_since = _watch(clock), clock.now
    for _ in range(50):
        clock.now += PROBE_EVERY
        watch.check(consumer, idle_since)  # type: ignore[arg-type]
    assert consumer.sought == []
