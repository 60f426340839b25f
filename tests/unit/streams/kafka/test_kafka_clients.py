"""librdkafka configurations: tuning first, raw options over it, the guarantees over everything."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, Message

from streams.kafka.clients import (
    admin_config,
    consumer_config,
    is_fatal,
    plain_producer_config,
    producer_config,
    reader_config,
    transactional_id,
)
from streams.settings import ClientOptions, Guarantee, KafkaSettings, Latency, WorkerSettings


def _ignore_error(_error: KafkaError) -> None:
    return None


def _ignore_delivery(_error: KafkaError | None, _message: Message) -> None:
    return None


def worker(*pairs: tuple[str, str], instance_id: str | None = None) -> WorkerSettings:
    kafka = KafkaSettings(bootstrap_servers="b:9092", client_options=ClientOptions(pairs))
    return WorkerSettings(kafka=kafka, group_id="g", instance_id=instance_id)


def test_consumer_reads_committed_and_never_commits_by_itself() -> None:
    """The worker's consumer: read_committed, no auto commit, no auto offset store, the group id."""
    config = consumer_config(worker(("consumer.fetch.wait.max.ms", "10")), error_cb=_ignore_error)
    assert config["isolation.level"] == "read_committed"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["group.id"] == "g"
    assert config["bootstrap.servers"] == "b:9092"
    assert config["fetch.wait.max.ms"] == "10"
    assert "group.instance.id" not in config


def test_an_instance_id_makes_a_static_member() -> None:
    """--instance-id becomes group.instance.id (a restart keeps the partitions without a rebalance)."""
    config = consumer_config(worker(instance_id="pod-1"), error_cb=_ignore_error)
    assert config["group.instance.id"] == "pod-1"


def test_raw_options_override_tuning_but_not_guarantees() -> None:
    """-X linger.ms wins over txscreen's tuning; acks and idempotence stay as the guarantee needs."""
    settings = worker(("linger.ms", "0"), ("producer.compression.type", "zstd"), ("acks", "1"))
    config = producer_config(
        settings, transactional_id="g.x", error_cb=_ignore_error, on_delivery=_ignore_delivery
    )
    assert config["linger.ms"] == "0"
    assert config["compression.type"] == "zstd"
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["transactional.id"] == "g.x"
    assert config["delivery.report.only.error"] is True


def test_at_least_once_producer_has_no_transactional_id() -> None:
    """Without exactly-once there is no transactional.id and no transaction timeout."""
    settings = WorkerSettings(guarantee=Guarantee.AT_LEAST_ONCE)
    config = producer_config(
        settings, transactional_id=None, error_cb=_ignore_error, on_delivery=_ignore_delivery
    )
    assert "transactional.id" not in config
    assert "transaction.timeout.ms" not in config


def test_transactional_id_is_stable_with_an_instance_id_and_random_without() -> None:
    """group.instance for a named worker; group.worker-<random> otherwise, different each time."""
    assert transactional_id("screeners", "pod-0") == "screeners.pod-0"
    first, second = transactional_id("screeners", None), transactional_id("screeners", None)
    assert first.startswith("screeners.worker-")
    assert first != second


def test_prefixed_options_reach_only_their_client() -> None:
    """consumer.* options go to consumers, producer.* to producers, neither to the admin client."""
    kafka = KafkaSettings(
        client_options=ClientOptions(
            (("security.protocol", "SSL"), ("consumer.fetch.min.bytes", "9"), ("producer.linger.ms", "7"))
        )
    )
    assert admin_config(kafka)["security.protocol"] == "SSL"
    assert "fetch.min.bytes" not in admin_config(kafka)
    assert "linger.ms" not in admin_config(kafka)
    assert reader_config(kafka)["fetch.min.bytes"] == "9"
    assert reader_config(kafka)["isolation.level"] == "read_committed"
    assert plain_producer_config(kafka)["linger.ms"] == "7"
    assert "transaction.timeout.ms" not in plain_producer_config(kafka)


def test_each_latency_profile_sets_the_worker_producers_linger() -> None:
    """--latency throughput lingers 5 ms, low 0 ms; -X linger.ms still wins; both clients set TCP_NODELAY."""
    kafka = KafkaSettings(bootstrap_servers="b:9092")
    lingers = {
        latency: producer_config(
            WorkerSettings(kafka=kafka, latency=latency),
            transactional_id="g.x",
            error_cb=_ignore_error,
            on_delivery=_ignore_delivery,
        )["linger.ms"]
        for latency in Latency
    }
    assert lingers == {Latency.THROUGHPUT: 5, Latency.LOW: 0}
    overridden = WorkerSettings(
        kafka=KafkaSettings(client_options=ClientOptions((("producer.linger.ms", "7"),))), latency=Latency.LOW
    )
    config = producer_config(
        overridden, transactional_id="g.x", error_cb=_ignore_error, on_delivery=_ignore_delivery
    )
    assert config["linger.ms"] == "7"
    assert config["socket.nagle.disable"] is True
    assert consumer_config(worker(), error_cb=_ignore_error)["socket.nagle.disable"] is True


@pytest.mark.parametrize(
    ("error", "fatal"),
    [
        (KafkaError(KafkaError._FATAL, "Fatal error: Broker: Static consumer fenced"), True),
        (KafkaError(KafkaError.INVALID_TXN_STATE, "invalid state", fatal=True), True),
        (KafkaError(KafkaError._TRANSPORT, "Broker transport failure"), False),
        (KafkaError(KafkaError._PARTITION_EOF), False),
    ],
)
def test_is_fatal_knows_a_consumer_s_fatal_event_by_its_code(error: KafkaError, fatal: bool) -> None:
    """is_fatal: librdkafka's flag, or the _FATAL code a consumer's fatal error event carries unflagged."""
    assert is_fatal(error) is fatal
