"""The project's Kafka broker, real: admin, no auto-create, transactions, the CLI, restarts and kills."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.localbroker.broker import LocalBroker, free_ports
from tests.cli_runner import run_txscreen

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]


def consume_values(
    bootstrap: str, topic: str, *, expected: int, isolation: str = "read_committed", timeout: float = 30.0
) -> list[bytes]:
    """Values read from the start of ``topic`` until ``expected`` arrived or ``timeout`` passed."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}-{isolation}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            values.append(message.value() or b"")
    finally:
        consumer.close()
    return values


def produce_acked(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Produce with acks=all and fail the test unless every value was acknowledged."""
    errors: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert errors == []


def test_fixture_broker_answers_admin_requests(kafka_admin: AdminClient) -> None:
    """The session broker answers a metadata request and lists at least one broker."""
    metadata = kafka_admin.list_topics(timeout=10)
    assert metadata.brokers


def test_created_topics_exist_and_producing_does_not_auto_create(
    kafka_bootstrap: str, kafka_admin: AdminClient, unique_topic: str, unique_name: Callable[[str], str]
) -> None:
    """Admin-created topics exist, and producing to a missing topic fails instead of creating it."""
    assert unique_topic in kafka_admin.list_topics(timeout=10).topics

    missing = unique_name("missing")
    outcomes: list[KafkaError | None] = []
    producer = Producer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "message.timeout.ms": 3000,
            "topic.metadata.refresh.interval.ms": 500,
        }
    )
    producer.produce(missing, b"x", on_delivery=lambda error, _message: outcomes.append(error))
    producer.flush(15)

    assert len(outcomes) == 1
    assert outcomes[0] is not None
    assert missing not in kafka_admin.list_topics(timeout=10).topics


def test_transactions_commit_with_offsets_and_abort(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str
) -> None:
    """A committed transaction and its offsets reach read_committed readers; an aborted one does not."""
    source, sink = make_topics("source", "sink")
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": group_id, "enable.auto.commit": False}
    )
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{sink}"})
    producer.init_transactions(60)

    producer.begin_transaction()
    producer.produce(sink, b"committed-1")
    producer.send_offsets_to_transaction(
        [TopicPartition(source, 0, 7)], consumer.consumer_group_metadata(), 60
    )
    producer.commit_transaction(60)

    producer.begin_transaction()
    producer.produce(sink, b"aborted")
    producer.flush(30)
    producer.abort_transaction(60)

    producer.begin_transaction()
    producer.produce(sink, b"committed-2")
    producer.commit_transaction(60)

    assert consume_values(kafka_bootstrap, sink, expected=2) == [b"committed-1", b"committed-2"]
    uncommitted_view = consume_values(kafka_bootstrap, sink, expected=3, isolation="read_uncommitted")
    assert b"aborted" in uncommitted_view
    (committed,) = consumer.committed([TopicPartition(source, 0)], timeout=30)
    assert committed.offset == 7
    consumer.close()


def run_cli(*args: str, timeout: float = 400.0) -> subprocess.CompletedProcess[str]:
    """Run ``txscreen`` in a fresh interpreter, as a user would."""
    return run_txscreen(*args, timeout=timeout)


def test_cli_up_status_down(tmp_path: Path) -> None:
    """``kafka up`` prints only the address; ``status`` exits 0 while it runs and 1 after ``down``."""
    port, controller_port = free_ports(2)
    state = str(tmp_path / "state")
    location = ["--port", str(port), "--controller-port", str(controller_port), "--state-dir", state]
    try:
        up = run_cli("kafka", "up", *location, "--heap", "512m")
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == f"127.0.0.1:{port}"
        assert "starting broker" in up.stderr

        status = run_cli("kafka", "status", *location)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "running (pid" in status.stdout
        assert f"127.0.0.1:{port}" in status.stdout

        again = run_cli("kafka", "up", *location)
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr

        down = run_cli("kafka", "down", *location)
        assert down.returncode == 0, down.stderr
        assert "stopped broker" in down.stdout

        after = run_cli("kafka", "status", *location)
        assert after.returncode == 1
        assert after.stdout.startswith("stopped")
    finally:
        run_cli("kafka", "down", *location, "--timeout", "20")


def test_restart_keeps_topics_and_data(local_broker_factory: Callable[..., LocalBroker]) -> None:
    """A graceful restart on the same state dir keeps topics, records and the cluster id."""
    broker = local_broker_factory()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})

    admin.create_topics([NewTopic("kept", 2, 1)])["kept"].result()
    produce_acked(broker.bootstrap_servers, "kept", [b"a", b"b", b"c"])
    first_pid = broker.pid()
    meta = (broker.config.data_dir / "meta.properties").read_text()

    broker.restart()

    assert broker.pid() != first_pid
    assert (broker.config.data_dir / "meta.properties").read_text() == meta
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    assert len(admin.list_topics("kept", timeout=10).topics["kept"].partitions) == 2
    values = consume_values(broker.bootstrap_servers, "kept", expected=3)
    assert sorted(values) == [b"a", b"b", b"c"]


def test_kill_then_start_recovers_acknowledged_records(
    local_broker_factory: Callable[..., LocalBroker],
) -> None:
    """After SIGKILL the broker reports stopped, and a new start serves every record acknowledged before."""
    broker = local_broker_factory()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})

    admin.create_topics([NewTopic("durable", 1, 1)])["durable"].result()
    produce_acked(broker.bootstrap_servers, "durable", [b"1", b"2"])

    assert broker.kill()
    assert not broker.is_running()
    assert not broker.status().running

    assert broker.start() == broker.bootstrap_servers
    assert consume_values(broker.bootstrap_servers, "durable", expected=2) == [b"1", b"2"]


def test_start_when_running_is_a_no_op(local_broker_factory: Callable[..., LocalBroker]) -> None:
    """Starting a broker that already runs returns its address and keeps the same process."""
    broker = local_broker_factory()
    pid = broker.pid()

    assert broker.start() == broker.bootstrap_servers
    assert LocalBroker(broker.config).start() == broker.bootstrap_servers
    assert broker.pid() == pid
