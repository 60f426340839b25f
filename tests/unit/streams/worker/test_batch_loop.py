"""The batch loop against scripted stand-ins for the Kafka clients: commits, aborts, rewinds, fencing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import BrokerError
from streams.settings import Guarantee, KafkaSettings, Latency, Topics, WorkerSettings
from streams.worker import batch_loop
from streams.worker.batch_loop import BatchLoop
from streams.worker.copier import CopyTransform

TOPIC = "in"
PARTITIONS = (0, 1)
PER_PARTITION = 10


class FakeConsumer:
    """Serves PER_PARTITION messages per partition from positions that seek() moves; records commits."""

    fatal_after: ClassVar[int | None] = None  # consume calls served before a fatal error event

    def __init__(self, _config: dict[str, Any]) -> None:
        self.positions = dict.fromkeys(PARTITIONS, 0)
        self.seeks: list[tuple[int, int]] = []
        self.committed: dict[int, int] = {}
        self.closed = False
        self._on_assign: Callable[..., None] | None = None

    def subscribe(self, _topics: list[str], *, on_assign: Callable[..., None], **_callbacks: Any) -> None:
        self._on_assign = on_assign

    def consume(self, num_messages: int, _timeout: float) -> list[Message]:
        if self._on_assign is not None:
            self._on_assign(self, [TopicPartition(TOPIC, p) for p in PARTITIONS])
            self._on_assign = None
        if self.fatal_after is not None:
            if self.fatal_after == 0:
                reason = (
                    "Fatal error: Broker: Static consumer fenced by another with the same group.instance.id"
                )
                return [Message(error=KafkaError(KafkaError._FATAL, reason))]  # no fatal flag, no topic
            FakeConsumer.fatal_after = self.fatal_after - 1
        batch: list[Message] = []
        for partition in PARTITIONS:
            while self.positions[partition] < PER_PARTITION and len(batch) < num_messages:
                offset = self.positions[partition]
                value = f"{partition}-{offset}".encode()
                batch.append(Message(topic=TOPIC, partition=partition, offset=offset, key=value, value=value))
                self.positions[partition] += 1
        return batch

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))
        self.positions[tp.partition] = tp.offset

    def consumer_group_metadata(self) -> object:
        return object()

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> list[TopicPartition]:
        assert not asynchronous
        self.committed.update({tp.partition: tp.offset for tp in offsets})
        return offsets

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """A transactional producer whose commits fail as scripted; keeps what was committed."""

    script: ClassVar[list[KafkaError]] = []  # errors raised by the next commit_transaction calls, in order

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.pending: list[tuple[str, bytes]] = []
        self.pending_offsets: dict[int, int] = {}
        self.outputs: list[tuple[str, bytes]] = []
        self.offsets: dict[int, int] = {}
        self.aborts = 0
        self.commits = 0

    def init_transactions(self, _timeout: float) -> None:
        return None

    def begin_transaction(self) -> None:
        assert not self.pending

    def produce(self, topic: str, value: bytes, _key: bytes | None = None, **_kwargs: Any) -> None:
        self.pending.append((topic, value))

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], _metadata: object, _t: float
    ) -> None:
        self.pending_offsets.update({tp.partition: tp.offset for tp in offsets})

    def commit_transaction(self, _timeout: float) -> None:
        if self.script:
            raise KafkaException(self.script.pop(0))
        self.outputs += self.pending
        self.offsets.update(self.pending_offsets)
        self.pending, self.pending_offsets = [], {}
        self.commits += 1

    def abort_transaction(self, _timeout: float) -> None:
        self.pending, self.pending_offsets = [], {}
        self.aborts += 1

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        self.outputs += self.pending
        self.pending = []
        return 0


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Replace the Kafka clients of the loop; yields the instances it made."""
    made: dict[str, Any] = {}

    def consumer(config: dict[str, Any]) -> FakeConsumer:
        made["consumer"] = FakeConsumer(config)
        return made["consumer"]

    def producer(config: dict[str, Any]) -> FakeProducer:
        made["producer"] = FakeProducer(config)
        return made["producer"]

    monkeypatch.setattr(batch_loop, "Consumer", consumer)
    monkeypatch.setattr(batch_loop, "Producer", producer)
    yield made
    FakeProducer.script = []
    FakeConsumer.fatal_after = None


def settings(**overrides: Any) -> WorkerSettings:
    kafka = KafkaSettings(topics=Topics(TOPIC, "out", "stop", "bad"))
    values: dict[str, Any] = {"max_batch": 4, "status_interval": 0.0, "max_events": 20, **overrides}
    return WorkerSettings(kafka=kafka, **values)


def expected_values() -> list[bytes]:
    return sorted(f"{p}-{o}".encode() for p in PARTITIONS for o in range(PER_PARTITION))


def test_every_batch_commits_its_output_with_the_offsets_after_it(clients: dict[str, Any]) -> None:
    """Exactly-once: each input is produced once, in a committed transaction that carries its offsets."""
    totals = BatchLoop(settings(), CopyTransform("out")).run()
    producer = clients["producer"]
    assert sorted(value for _, value in producer.outputs) == expected_values()
    assert producer.offsets == {0: PER_PARTITION, 1: PER_PARTITION}
    assert producer.config["transactional.id"].startswith("txscreen.worker-")
    assert totals.events == 20
    assert totals.counts == {"copied": 20}
    assert clients["consumer"].closed


def test_an_abortable_commit_error_aborts_rewinds_and_redoes_the_batch(clients: dict[str, Any]) -> None:
    """A transaction that must abort is aborted; its partitions are re-read from where it began."""
    FakeProducer.script = [KafkaError(KafkaError._TIMED_OUT, "commit timed out", txn_requires_abort=True)]
    totals = BatchLoop(settings(), CopyTransform("out")).run()
    producer, consumer = clients["producer"], clients["consumer"]
    assert producer.aborts == 1
    assert consumer.seeks[0] == (0, 0)  # the first batch held partition 0 from offset 0
    assert sorted(value for _, value in producer.outputs) == expected_values()
    assert producer.offsets == {0: PER_PARTITION, 1: PER_PARTITION}
    assert totals.aborted == 1
    assert totals.events == 20


def test_a_retriable_commit_error_is_retried_without_abort(clients: dict[str, Any]) -> None:
    """A retriable failure of commit_transaction calls it again; nothing is aborted or repeated."""
    FakeProducer.script = [KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS, "loading", retriable=True)]
    BatchLoop(settings(), CopyTransform("out")).run()
    producer = clients["producer"]
    assert producer.aborts == 0
    assert sorted(value for _, value in producer.outputs) == expected_values()


def test_fencing_stops_the_worker_with_a_clear_error(clients: dict[str, Any]) -> None:
    """A fenced producer is fatal: BrokerError saying another worker took over; no more commits."""
    FakeProducer.script = [KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)]
    loop = BatchLoop(settings(instance_id="w1"), CopyTransform("out"))
    with pytest.raises(BrokerError, match="was fenced"):
        loop.run()
    assert clients["producer"].outputs == []
    assert clients["consumer"].closed


@pytest.mark.parametrize("guarantee", list(Guarantee))
def test_a_consumer_s_fatal_error_event_stops_the_worker(
    clients: dict[str, Any], guarantee: Guarantee
) -> None:
    """A consumer's fatal error event (code _FATAL, no flag) stops the worker instead of leaving it idle."""
    FakeConsumer.fatal_after = 2
    loop = BatchLoop(settings(guarantee=guarantee, max_events=None), CopyTransform("out"))
    with pytest.raises(BrokerError, match=r"fenced in the consumer: .*Static consumer fenced"):
        loop.run()
    assert sum(clients["consumer"].positions.values()) == 8  # two batches of 4, then the error: no more
    assert loop.totals.events <= 8
    assert clients["consumer"].closed


def test_at_least_once_flushes_then_commits_offsets(clients: dict[str, Any]) -> None:
    """At-least-once: no transactional.id; offsets are committed on the consumer after each flush."""
    BatchLoop(settings(guarantee=Guarantee.AT_LEAST_ONCE), CopyTransform("out")).run()
    producer, consumer = clients["producer"], clients["consumer"]
    assert "transactional.id" not in producer.config
    assert sorted(value for _, value in producer.outputs) == expected_values()
    assert consumer.committed == {0: PER_PARTITION, 1: PER_PARTITION}


def test_a_stop_request_commits_the_batch_in_hand(clients: dict[str, Any]) -> None:
    """After SIGTERM the loop stops at the next batch boundary with everything consumed committed."""
    loop = BatchLoop(settings(max_events=None), CopyTransform("out"))
    transform = loop.transform

    class StopAfterFirst:
        kinds = transform.kinds

        def __call__(self, messages: list[Message]) -> batch_loop.Emit:
            loop.stop.signals = 1
            return transform(messages)

    loop.transform = StopAfterFirst()
    totals = loop.run()
    assert totals.events == 4
    assert clients["producer"].offsets == {0: 4}


class TrickleConsumer(FakeConsumer):
    """Serves at most three messages per call, as when events trickle in below the batch size."""

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return super().consume(min(num_messages, 3), timeout)


class RebalancingConsumer(TrickleConsumer):
    """A trickle whose fourth consume call (a top-up under --latency low) runs a rebalance."""

    def subscribe(self, _topics: list[str], *, on_assign: Callable[..., None], **callbacks: Any) -> None:
        super().subscribe(_topics, on_assign=on_assign, **callbacks)
        self.calls = 0
        self.assign_again = on_assign
        self.revoke = callbacks["on_revoke"]

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.calls += 1
        if self.calls == 4:
            partitions = [TopicPartition(TOPIC, p) for p in PARTITIONS]
            self.revoke(self, partitions)
            self.assign_again(self, partitions)
        return super().consume(num_messages, timeout)


@pytest.mark.parametrize("latency", list(Latency))
@pytest.mark.parametrize("consumer_class", [FakeConsumer, TrickleConsumer, RebalancingConsumer])
def test_both_latency_profiles_commit_every_input_once(
    clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch, latency: Latency, consumer_class: type
) -> None:
    """--latency low (topped-up batches, a rebalance mid top-up) and the default give each input once."""

    def consumer(config: dict[str, Any]) -> FakeConsumer:
        clients["consumer"] = consumer_class(config)
        return clients["consumer"]

    monkeypatch.setattr(batch_loop, "Consumer", consumer)
    totals = BatchLoop(settings(latency=latency), CopyTransform("out")).run()
    producer = clients["producer"]
    assert sorted(value for _, value in producer.outputs) == expected_values()
    assert producer.offsets == {0: PER_PARTITION, 1: PER_PARTITION}
    assert totals.events == 20
    if consumer_class is RebalancingConsumer and latency is Latency.LOW:
        assert clients["consumer"].seeks  # the topped-up batch was dropped and its partitions rewound


class TimedConsumer(TrickleConsumer):
    """A trickle that records the timeout of every consume call."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.timeouts: list[float] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.timeouts.append(timeout)
        return super().consume(num_messages, timeout)


def test_a_default_batch_fills_until_the_batch_timeout_after_the_previous_one(
    clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--latency throughput: the first batch is what has arrived; the next ones fill for what is left of the
    batch timeout counted from when the previous batch was consumed (screening and producing count)."""

    def consumer(config: dict[str, Any]) -> TimedConsumer:
        clients["consumer"] = TimedConsumer(config)
        return clients["consumer"]

    monkeypatch.setattr(batch_loop, "Consumer", consumer)
    BatchLoop(settings(batch_timeout=30.0, latency=Latency.THROUGHPUT), CopyTransform("out")).run()
    timeouts = clients["consumer"].timeouts
    assert timeouts[0] == 0  # nothing consumed before: take what has arrived
    fills = [t for t in timeouts if t > 0]
    assert fills
    assert all(20.0 < t < 30.0 for t in fills)  # what is left of the 30 s, not a fresh 30 s
