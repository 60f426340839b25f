"""The consumer lag per partition, exactly-once aware.

Lag is the end of the partition a ``read_committed`` consumer may read (librdkafka's cached end
offset: the last stable offset) minus the consumer's position. A transactional producer writes a
commit marker after each transaction's records; the marker takes an offset but is never delivered.
A partition whose last record is a marker would read lag 1 forever if the position stopped after
the last record delivered; librdkafka moves the position past the control records it skips, so an
idle partition reads 0 (tests/kafka/test_metrics.py proves it with transactional input). Until a
partition has been fetched its position is unknown, and it is left out rather than guessed.

The cached ends are those the consumer's fetches bring: a consumer that fetches nothing keeps the ends
of its last fetch, and a stalled fetch (seen after a broker restart, ``streams/worker/stall.py``) would
read lag 0 with events waiting. A ``fresh`` reading asks the broker for the ends instead (the last
stable offset for a ``read_committed`` consumer, so a trailing commit marker still reads 0); callers ask
for one when the consumer has consumed nothing for a while, and keep the cached end of a partition
whose end the broker does not give in time.
"""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition

#: Seconds the broker may take to give one partition's end for a fresh reading.
FRESH_END_TIMEOUT = 1.0


def partition_lags(consumer: Consumer, *, fresh: bool = False) -> list[tuple[str, int, int]] | None:
    """``(topic, partition, lag)`` for each assigned partition whose position and end are known (ends
    asked of the broker with ``fresh``); ``None`` when the positions are unknown."""
    try:
        positions = consumer.position(consumer.assignment())
    except KafkaException:
        return None
    lags: list[tuple[str, int, int]] = []
    for tp in positions:
        if tp.offset < 0:
            continue  # not fetched yet
        high = _end(consumer, tp, fresh=fresh)
        if high is not None and high >= 0:
            lags.append((tp.topic, tp.partition, max(high - tp.offset, 0)))
    return lags


def total_lag(consumer: Consumer, *, fresh: bool = False) -> int | None:
    """The lag summed over the assigned partitions (:func:`partition_lags`), or ``None`` if unknown."""
    lags = partition_lags(consumer, fresh=fresh)
    return None if lags is None else sum(lag for _, _, lag in lags)


def _end(consumer: Consumer, tp: TopicPartition, *, fresh: bool) -> int | None:
    """A partition's end: asked of the broker with ``fresh`` (the cached one if it does not answer)."""
    if fresh:
        try:
            return int(consumer.get_watermark_offsets(tp, timeout=FRESH_END_TIMEOUT, cached=False)[1])
        except KafkaException:
            pass
    try:
        return int(consumer.get_watermark_offsets(tp, cached=True)[1])
    except KafkaException:
        return None
