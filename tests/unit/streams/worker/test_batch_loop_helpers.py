"""The loop's pure helpers: offsets committed after a batch, rewind targets, log locations, fencing."""

from __future__ import annotations

from confluent_kafka import KafkaError, Message

from streams.worker.batch_loop import first_offsets, is_fenced, offsets_after, span, where


def msg(partition: int, offset: int, topic: str = "payments") -> Message:
    return Message(topic=topic, partition=partition, offset=offset, value=b"{}")


BATCH = [msg(0, 10), msg(3, 7), msg(0, 11), msg(3, 8), msg(0, 12)]


def test_offsets_after_a_batch_are_last_plus_one_per_partition() -> None:
    """What is committed with a batch's output: the position after its last message, per partition."""
    committed = {(tp.topic, tp.partition): tp.offset for tp in offsets_after(BATCH)}
    assert committed == {("payments", 0): 13, ("payments", 3): 9}


def test_first_offsets_prefer_the_earliest_batch() -> None:
    """After an aborted batch the rewind goes to where it began, even when a later batch was consumed."""
    later = [msg(0, 13), msg(5, 40)]
    assert first_offsets(BATCH, later) == {0: 10, 3: 7, 5: 40}


def test_log_locations_name_topic_partition_offset() -> None:
    """Messages are named topic[partition]@offset; a batch as ranges per partition."""
    assert where(msg(2, 99)) == "payments[2]@99"
    assert span(BATCH) == "payments[0]@10..12, payments[3]@7..8"


def test_fencing_errors_are_recognised() -> None:
    """_FENCED, PRODUCER_FENCED and FENCED_INSTANCE_ID mean another worker took over."""
    for code in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.FENCED_INSTANCE_ID):
        assert is_fenced(KafkaError(code))
    assert not is_fenced(KafkaError(KafkaError._TIMED_OUT))
