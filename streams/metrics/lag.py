"""The consumer lag per partition, exactly-once aware.

Lag is the end of the partition a ``read_committed`` consumer may read (librdkafka's cached end
offset: the last stable offset) minus the consumer's position. A transactional producer writes a
commit marker after each transaction's records; the marker takes an offset but is never delivered.
A partition whose last record is a marker would read lag 1 forever if the position stopped after
the last record delivered; librdkafka moves the position past the control records it skips, so an
idle partition reads 0 (tests/kafka/test_metrics.py proves it with transactional input). Until a
partition has been fetched its position is unknown, and it is left out rather than guessed.
"""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException


def partition_lags(consumer: Consumer) -> list[tuple[str, int, int]]:
    """``(topic, partition, lag)`` for each assigned partition whose position and end are known."""
    try:
        positions = consumer.position(consumer.assignment())
    except KafkaException:
        return []
    lags: list[tuple[str, int, int]] = []
    for tp in positions:
        if tp.offset < 0:
            continue  # not fetched yet
        try:
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
        except KafkaException:
            continue
        if high >= 0:
            lags.append((tp.topic, tp.partition, max(high - tp.offset, 0)))
    return lags
