"""The loop's pure helpers: offsets committed after a batch, rewind targets, log locations, fencing."""

from __future__ import annotations

from confluent_kafka import KafkaError, Message

from streams.worker.batch_loop import _arrived, first_offsets, is_fenced, offsets_after, span, where


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


class ScriptedConsumer:
    """Returns scripted answers to ``consume`` and records each call's (count, timeout)."""

    def __init__(self, *answers: list[Message]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.calls.append((num_messages, timeout))
        return self.answers.pop(0)[:num_messages] if self.answers else []


def test_low_latency_takes_what_has_arrived_without_waiting() -> None:
    """--latency low: events already fetched come at once (timeout 0), never after a wait for a full batch."""
    consumer = ScriptedConsumer(BATCH[:3])
    assert _arrived(consumer, 5000, 0.2) == BATCH[:3]  # type: ignore[arg-type]
    assert consumer.calls == [(5000, 0)]


def test_low_latency_waits_only_for_the_first_event() -> None:
    """With nothing fetched, it waits up to the timeout for one event, then adds those fetched with it."""
    consumer = ScriptedConsumer([], BATCH[:1], BATCH[1:])
    assert _arrived(consumer, 5000, 0.2) == BATCH  # type: ignore[arg-type]
    assert consumer.calls == [(5000, 0), (1, 0.2), (4999, 0)]
    idle = ScriptedConsumer([], [])
    assert _arrived(idle, 5000, 0.2) == []  # type: ignore[arg-type]
    assert idle.calls == [(5000, 0), (1, 0.2)]
