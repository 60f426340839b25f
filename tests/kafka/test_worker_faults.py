"""Delivery guarantees under faults: kill -9, workers joining and leaving, a broker crash.

Each test streams events into a 4-partition input while ``txscreen run`` workers (subprocesses,
as in production) are killed and restarted, then reads the three output topics read_committed:
with exactly-once every input key is there exactly once; with at-least-once, at least once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from matchers.sources import load_watchlists
from streams.loadgen.synthetic import EventFactory
from streams.localbroker.broker import LocalBroker

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 4
STREAMED = 100_000
RATE = 4_000  # events/s: the stream lasts 25 s, long enough to kill workers in the middle of it
#: Workers in these tests: small batches (many transactions to interrupt), a quick session timeout.
#: How a worker's Kafka client may die while its broker restarts, each seen here: librdkafka hangs in
#: send_offsets_to_transaction (its issues #5456/#5511, the worker gives up after STUCK_AFTER); the broker
#: calls the producer's abort invalid in its restored transaction state (fatal); the consumer's rejoin after
#: its session timed out is fenced as if another member had its group.instance.id; the consumer fetches
#: nothing, silently, and a seek does not wake it (streams.worker.stall).
OUTAGE_DEATHS = re.compile(
    r"#5456/#5511|fatal Kafka error: .*invalid state|fenced in the consumer: .*Static consumer fenced"
    r"|the consumer has consumed nothing for"
)
WORKER_FLAGS = (
    "--watchlist", "builtin", "--max-batch", "2000", "--batch-timeout", "0.1", "--status-interval", "2",
    "-X", "consumer.session.timeout.ms=6000",
)  # fmt: skip


def _story(log: str) -> str:
    """A worker's log without its per-event lines and with only the last few status lines: what happened."""
    lines = [line for line in log.splitlines() if "streams.outputs:" not in line]
    status = [i for i, line in enumerate(lines) if "status:" in line]
    dropped = set(status[:-5])
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)[-12000:]


def make_events(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) pairs, unique keys: realistic events, 1 % listed names, 0.2 % malformed."""
    factory = EventFactory(load_watchlists(["builtin"]), seed=11, listed_share=0.01, malformed_share=0.002)
    return [(f"in-{n:06d}".encode(), factory.raw()) for n in range(count)]


class Feeder(threading.Thread):
    """Produces the events at a steady rate (acks=all, idempotent), in the background."""

    def __init__(
        self, bootstrap: str, topic: str, events: Sequence[tuple[bytes, bytes]], rate: float
    ) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.events, self.rate = bootstrap, topic, events, rate
        self.failed: list[str] = []
        self.started_at = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def run(self) -> None:
        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                self.failed.append(error.str())

        producer = Producer(
            {"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 20}
        )
        self.started_at = time.monotonic()
        for n, (key, value) in enumerate(self.events):
            while True:
                try:
                    producer.produce(self.topic, value, key, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
            if n % 500 == 0:
                producer.poll(0)
                ahead = n / self.rate - self.elapsed()
                if ahead > 0:
                    time.sleep(ahead)
        remaining = producer.flush(300)
        if remaining:
            self.failed.append(f"{remaining} events undelivered")


class Worker:
    """One ``txscreen run`` subprocess, its output in a log file."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        """Crash it: SIGKILL, no chance to abort or commit anything."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as an orchestrator would; its exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``spawn(bootstrap, topics, group, name, *flags)``: a worker subprocess, killed after the test."""
    workers: list[Worker] = []

    def start(bootstrap: str, topics: Sequence[str], group: str, name: str, *flags: str) -> Worker:
        source, cleared, blocked, dlq = topics
        command = [
            sys.executable, "-m", "streams.cli", "run", "--bootstrap-servers", bootstrap,
            "--input-topic", source, "--cleared-topic", cleared, "--blocked-topic", blocked,
            "--dlq-topic", dlq, "--group-id", group, *WORKER_FLAGS, *flags,
        ]  # fmt: skip
        worker = Worker(command, tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.alive():
            worker.kill9()


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed (stable) offsets on ``topic``."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed"}
    )
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
    except KafkaException:  # offsets pending in an open transaction, or the broker is away
        return 0
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in committed)


def wait_drained(bootstrap: str, group: str, topic: str, total: int, timeout: float = 120.0) -> None:
    """Wait until the group committed offsets past every input event."""
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = committed_total(bootstrap, group, topic)
        if done >= total:
            return
        time.sleep(1.0)
    pytest.fail(f"the workers committed {done} of {total} events within {timeout} s")


def output_keys(
    bootstrap: str, topics: Sequence[str], expected: int, timeout: float = 120.0
) -> Counter[bytes]:
    """How often each key appears across ``topics``, read read_committed from the start to the end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "fault-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    partitions = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(PARTITIONS)]
    consumer.assign(partitions)
    keys: Counter[bytes] = Counter()
    at_end: set[tuple[str, int]] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if len(at_end) == len(partitions) and keys.total() >= expected:
                break
            for message in consumer.consume(10_000, 0.5):
                where = (message.topic() or "", message.partition() or 0)
                error = message.error()
                if error is None:
                    keys[message.key() or b""] += 1
                    at_end.discard(where)
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(where)
    finally:
        consumer.close()
    return keys


def assert_exactly_once(keys: Counter[bytes], events: Sequence[tuple[bytes, bytes]]) -> None:
    expected = {key for key, _ in events}
    missing = expected - set(keys)
    duplicated = {key: n for key, n in keys.items() if n > 1}
    unknown = set(keys) - expected
    assert not missing, f"{len(missing)} inputs lost, e.g. {sorted(missing)[:5]}"
    assert not duplicated, f"{len(duplicated)} inputs duplicated, e.g. {sorted(duplicated.items())[:5]}"
    assert not unknown
    assert keys.total() == len(events)


def wait_until(feeder: Feeder, second: float) -> None:
    time.sleep(max(0.0, second - feeder.elapsed()))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("latency", ["throughput", "low"])
def test_kill_9_three_times_mid_stream_loses_and_repeats_nothing(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    spawn: Callable[..., Worker],
    latency: str,
) -> None:
    """A worker crashed with kill -9 three times while events stream: every input exactly once downstream,
    under either --latency profile (the low one runs many small transactions)."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    events = make_events(STREAMED)
    feeder = Feeder(kafka_bootstrap, topics[0], events, RATE)
    feeder.start()
    flags = ("--instance-id", "w1", "--latency", latency)
    worker = spawn(kafka_bootstrap, topics, group_id, "w1-0", *flags)
    progress = []
    for n, second in enumerate((6.0, 12.0, 18.0), start=1):
        wait_until(feeder, second)
        assert worker.alive(), worker.log()
        progress.append(committed_total(kafka_bootstrap, group_id, topics[0]))
        worker.kill9()
        worker = spawn(kafka_bootstrap, topics, group_id, f"w1-{n}", *flags)
    feeder.join()
    assert feeder.failed == []
    assert 0 < progress[0] < progress[1] < progress[2] < STREAMED, progress

    wait_drained(kafka_bootstrap, group_id, topics[0], STREAMED)
    assert worker.stop() == 0, worker.log()
    assert_exactly_once(output_keys(kafka_bootstrap, topics[1:], STREAMED), events)


@pytest.mark.timeout(300)
def test_workers_joining_and_leaving_mid_stream_keep_exactly_once(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str, spawn: Callable[..., Worker]
) -> None:
    """Rebalances (a worker joins then leaves cleanly, another joins then is killed): still exactly once."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    events = make_events(STREAMED)
    feeder = Feeder(kafka_bootstrap, topics[0], events, RATE)
    feeder.start()
    steady = spawn(kafka_bootstrap, topics, group_id, "steady", "--instance-id", "steady")
    wait_until(feeder, 5.0)
    visitor = spawn(kafka_bootstrap, topics, group_id, "visitor")  # random transactional.id, dynamic member
    wait_until(feeder, 12.0)
    assert visitor.stop() == 0, visitor.log()
    crasher = spawn(
        kafka_bootstrap, topics, group_id, "crasher", "-X", "producer.transaction.timeout.ms=10000"
    )
    wait_until(feeder, 20.0)
    assert crasher.alive(), crasher.log()
    crasher.kill9()
    feeder.join()
    assert feeder.failed == []

    wait_drained(kafka_bootstrap, group_id, topics[0], STREAMED)
    assert steady.alive(), steady.log()
    assert steady.stop() == 0, steady.log()
    log = steady.log()
    assert log.count("revoked ") >= 2, log  # the group rebalanced while the steady worker ran
    assert "processed" in visitor.log()
    assert_exactly_once(output_keys(kafka_bootstrap, topics[1:], STREAMED), events)


@pytest.mark.timeout(420)
def test_broker_crash_mid_stream_keeps_exactly_once(
    local_broker_factory: Callable[..., LocalBroker], spawn: Callable[..., Worker], group_id: str
) -> None:
    """The broker is killed and started again while events stream: every input still exactly once.

    The worker rides through the outage, or its Kafka client dies in it and it exits 2 with the reason
    (OUTAGE_DEATHS) instead of idling; restarted as an orchestrator would, it resumes.
    """
    broker = local_broker_factory()
    bootstrap = broker.bootstrap_servers
    topics = ["payments", "payments.cleared", "payments.blocked", "payments.dlq"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics]).values():
        future.result(60)
    events = make_events(STREAMED)
    feeder = Feeder(bootstrap, topics[0], events, RATE)
    feeder.start()
    worker = spawn(bootstrap, topics, group_id, "survivor", "--instance-id", "survivor")
    wait_until(feeder, 8.0)
    assert worker.alive(), worker.log()
    progress = committed_total(bootstrap, group_id, topics[0])
    assert broker.kill()
    time.sleep(2.0)
    broker.start()
    feeder.join()
    assert feeder.failed == []
    assert 0 < progress < STREAMED

    restarts = 0
    deadline = time.monotonic() + 240
    while committed_total(bootstrap, group_id, topics[0]) < STREAMED:
        if not worker.alive():
            assert worker.process.returncode == 2, worker.log()
            assert OUTAGE_DEATHS.search(worker.log()), worker.log()
            restarts += 1
            worker = spawn(bootstrap, topics, group_id, f"survivor-{restarts}", "--instance-id", "survivor")
        assert time.monotonic() < deadline, f"not drained; {restarts} restarts\n{_story(worker.log())}"
        time.sleep(1.0)
    assert restarts <= 2
    assert worker.stop() == 0, worker.log()
    assert_exactly_once(output_keys(bootstrap, topics[1:], STREAMED), events)


@pytest.mark.timeout(240)
def test_at_least_once_mode_delivers_every_input_after_kill_9(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str, spawn: Callable[..., Worker]
) -> None:
    """--guarantee at-least-once: after a kill -9 and a restart every input is there at least once."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    events = make_events(40_000)
    feeder = Feeder(kafka_bootstrap, topics[0], events, 8_000)
    feeder.start()
    flags = ("--guarantee", "at-least-once", "--instance-id", "alo")
    worker = spawn(kafka_bootstrap, topics, group_id, "alo-0", *flags)
    wait_until(feeder, 3.0)
    deadline = time.monotonic() + 60
    while committed_total(kafka_bootstrap, group_id, topics[0]) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.alive(), worker.log()
    worker.kill9()
    worker = spawn(kafka_bootstrap, topics, group_id, "alo-1", *flags)
    feeder.join()
    assert feeder.failed == []

    wait_drained(kafka_bootstrap, group_id, topics[0], len(events))
    assert worker.stop() == 0, worker.log()
    keys = output_keys(kafka_bootstrap, topics[1:], len(events))
    missing = {key for key, _ in events} - set(keys)
    assert not missing, f"{len(missing)} inputs lost, e.g. {sorted(missing)[:5]}"
    assert "at-least-once" in worker.log()


@pytest.mark.timeout(240)
def test_a_second_worker_with_the_same_instance_id_fences_the_first(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str, spawn: Callable[..., Worker]
) -> None:
    """Zombie fencing: a worker with the same --instance-id takes over, the old one exits 2; exactly once."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    events = make_events(40_000)
    feeder = Feeder(kafka_bootstrap, topics[0], events, 4_000)
    feeder.start()
    first = spawn(kafka_bootstrap, topics, group_id, "first", "--instance-id", "same")
    deadline = time.monotonic() + 60
    while committed_total(kafka_bootstrap, group_id, topics[0]) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.alive(), first.log()
    second = spawn(kafka_bootstrap, topics, group_id, "second", "--instance-id", "same")
    assert first.process.wait(90) == 2, first.log()
    assert "was fenced" in first.log(), first.log()
    assert "Traceback" not in first.log()
    feeder.join()
    assert feeder.failed == []

    wait_drained(kafka_bootstrap, group_id, topics[0], len(events))
    assert second.stop() == 0, second.log()
    assert_exactly_once(output_keys(kafka_bootstrap, topics[1:], len(events)), events)
