"""The librdkafka configurations of txscreen's clients: throughput tuning, raw options, then guarantees.

Each configuration is layered, later layers winning:

1. txscreen's tuning for throughput (big fetches and batches, a deep producer queue), and for a
   worker's producer what its ``--latency`` profile changes (:data:`PRODUCER_LATENCY`);
2. the raw options of the settings (properties file, ``TXSCREEN_KAFKA_CONFIG``, ``-X``), so users
   can reach secured clusters and retune anything above;
3. what the guarantee needs, which no option may change (``settings.py`` refuses those keys):
   no automatic offset commits or stores, ``read_committed`` input, an idempotent producer, and
   for exactly-once a ``transactional.id``.

Delivery reports are asked for failed messages only (``delivery.report.only.error``), so a
healthy batch calls no Python per message on the producer side. (confluent-kafka applies that
option itself: librdkafka still reports every record, and the client's trampoline takes the GIL
for each one before it skips the callback; see ``streams.worker.batch_loop.SWITCH_INTERVAL``.)
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from schemas.errors import ConfigError
from streams.settings import KafkaSettings, Latency, WorkerSettings, mask_secrets, masked

log = logging.getLogger(__name__)
#: librdkafka's own log lines go through logging under this name (served by poll/consume).
RDKAFKA_LOG: Final = logging.getLogger("streams.rdkafka")
#: Seconds between two log lines of the same client error: librdkafka's longest reconnect back-off
#: (``reconnect.backoff.max.ms``, 10 s), so a broker that is down costs one line per reconnect interval.
REPEAT_INTERVAL: Final = 10.0
#: Parts of a librdkafka line that vary between repeats of one error (durations, client numbers).
_VARYING: Final = re.compile(r"\d+ ?ms\b|rdkafka#\w+-\d+|after \d+|\d+ (?:identical|similar) error")


class RepeatThrottle(logging.Filter):
    """Lets through the first of a run of identical lines, then at most one per ``interval`` seconds.

    Lines are identical when they differ only in durations and client numbers. A line let through
    after others were held back says how many (``… (12 more like it in 10 s)``).
    """

    def __init__(
        self, interval: float = REPEAT_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}  # line key → (when last shown, held back since)

    def allow(self, text: str) -> tuple[bool, int]:
        """Whether to show ``text`` now, and how many like it were held back since it was last shown."""
        key = _VARYING.sub("#", text)
        now = self._clock()
        shown = self._last.get(key)
        if shown is not None and now - shown[0] < self.interval:
            self._last[key] = (shown[0], shown[1] + 1)
            return False, 0
        if len(self._last) > 1000:  # many different lines: forget the old ones
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.interval}
        self._last[key] = (now, 0)
        return True, shown[1] if shown is not None else 0

    def filter(self, record: logging.LogRecord) -> bool:
        """logging's hook: hold back repeats; a shown repeat says how many were held back."""
        if record.levelno < logging.WARNING:
            return True
        show, held = self.allow(record.getMessage())
        if show and held:
            record.msg = f"{record.getMessage()} ({held} more like it in the last {self.interval:.0f} s)"
            record.args = ()
        return show


#: Throttles librdkafka's own lines and the clients' error callbacks alike.
CLIENT_ERRORS: Final = RepeatThrottle()
RDKAFKA_LOG.addFilter(CLIENT_ERRORS)

C = TypeVar("C")
ErrorCallback = Callable[[KafkaError], None]
DeliveryCallback = Callable[[KafkaError | None, Message], None]

CONSUMER_TUNING: Final[dict[str, Any]] = {
    "auto.offset.reset": "earliest",
    # TCP_NODELAY, as Kafka's Java clients and the broker set it: librdkafka writes whole requests, so
    # Nagle's algorithm only holds a small request back until the previous one's ACK arrives.
    "socket.nagle.disable": True,
    # A crashed worker's partitions move after 10 s rather than librdkafka's 45 s.
    "session.timeout.ms": 10_000,
    "max.partition.fetch.bytes": 4 * 1024 * 1024,
    "fetch.max.bytes": 64 * 1024 * 1024,
    "queued.min.messages": 200_000,
}
PRODUCER_TUNING: Final[dict[str, Any]] = {
    "linger.ms": 20,
    "socket.nagle.disable": True,
    "batch.size": 4 * 1024 * 1024,
    "batch.num.messages": 50_000,
    # Compression costs CPU in the client and the broker; on a LAN or one host, none is faster.
    # Across a WAN or a metered link, -X producer.compression.type=lz4 saves bandwidth.
    "compression.type": "none",
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 2 * 1024 * 1024,
    # Same key, same partition as the Java clients (librdkafka's own default hashes differently).
    "partitioner": "murmur2_random",
    # An open transaction of a crashed worker without --instance-id blocks read_committed readers
    # until the broker aborts it (checked every 10 s by default): 10 s, as Kafka Streams' exactly-once,
    # rather than librdkafka's 60 s. A healthy transaction lasts one batch (--batch-timeout, 0.1 s,
    # plus its commit); one held up past 10 s by a broker restart is aborted and its batch consumed again.
    "transaction.timeout.ms": 10_000,
    # After a commit the coordinator writes the transaction's markers; until they are written, the next
    # transaction's AddPartitionsToTxn and AddOffsetsToTxn are refused with CONCURRENT_TRANSACTIONS and
    # retried after retry.backoff.ms. A worker begins its next transaction right after a commit, so it
    # met that refusal nearly every batch and waited librdkafka's default 100 ms: measured with the
    # worker's per-phase timings (txscreen -v) at 10k events/s, the offsets step took 31 ms a batch on
    # average at 100 ms and 13 ms at 10 ms. Java's producer retries this refusal after 20 ms for the same
    # reason (KAFKA-5477). Later retries back off exponentially up to retry.backoff.max.ms (1 s).
    "retry.backoff.ms": 10,
}
#: What each ``--latency`` profile changes in a worker's producer, over PRODUCER_TUNING (raw options win).
#: A worker's records wait for their transaction's commit anyway, and a commit starts by waiting for them
#: to be delivered: a record that lingers delays the commit by as much. With ``linger.ms`` 5 (throughput)
#: the records of a big batch leave in a few large requests while the batch is still being produced and
#: while its offsets are sent; with 0 (low) a small batch leaves as soon as its partitions joined the
#: transaction (in one request a partition: they are queued during that round trip).
PRODUCER_LATENCY: Final[dict[Latency, dict[str, Any]]] = {
    Latency.THROUGHPUT: {"linger.ms": 5},
    Latency.LOW: {"linger.ms": 0},
}
#: Largest value a worker produces; larger outputs become dead letters (librdkafka's message.max.bytes
#: default is 1,000,000 bytes and the record also carries key and headers).
MAX_OUTPUT_BYTES: Final = 1_000_000 - 16 * 1024


def is_fatal(error: KafkaError) -> bool:
    """Whether the client that reported ``error`` is dead and must be replaced.

    librdkafka flags a producer's fatal errors, but a consumer reports its own (a static member fenced,
    say) as an error event with the code ``_FATAL`` whose flag confluent-kafka leaves unset.
    """
    return error.fatal() or error.code() == KafkaError._FATAL


def new_client(factory: Callable[[dict[str, Any]], C], config: dict[str, Any]) -> C:
    """A librdkafka client (``Producer``, ``Consumer``, ``AdminClient``) made from ``config``.

    An option librdkafka refuses (unknown, or a value of the wrong type) is a ConfigError with
    librdkafka's one-line reason, secrets masked, rather than a traceback.
    """
    try:
        return factory(config)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        reason = error.str() if isinstance(error, KafkaError) else str(error)
    except (ValueError, TypeError) as exc:
        reason = str(exc)
    reason = mask_secrets(reason.rstrip("."), config.items())
    raise ConfigError(
        f"the Kafka client refused its options: {reason} (see -X, --kafka-config, TXSCREEN_KAFKA_CONFIG)."
    )


def check_options(kafka: KafkaSettings) -> None:
    """ConfigError, at start-up, for a raw option librdkafka refuses in the consumer or the producer.

    Both clients are made without ``bootstrap.servers`` (so they connect nowhere) and closed at once.
    """
    quiet = {"log_level": 0}
    new_client(Producer, {**kafka.client_options.for_client("producer"), **quiet})
    consumer = new_client(
        Consumer, {**kafka.client_options.for_client("consumer"), "group.id": "txscreen-check", **quiet}
    )
    consumer.close()


def transactional_id(group_id: str, instance_id: str | None) -> str:
    """``<group>.<instance>``: stable when an instance id is given, else with a random suffix.

    With KIP-447 (offsets sent with the consumer group metadata) the broker fences a zombie by its
    group generation, so a random id per process is safe; a stable one also lets a restarted
    worker abort its predecessor's open transaction at once instead of after the transaction timeout.
    """
    return f"{group_id}.{instance_id or 'worker-' + uuid.uuid4().hex[:12]}"


def admin_config(kafka: KafkaSettings) -> dict[str, Any]:
    """An admin client's configuration (raw options that are not consumer- or producer-only)."""
    return {
        **kafka.client_options.for_client("admin"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "logger": RDKAFKA_LOG,
    }


def consumer_config(
    settings: WorkerSettings, *, error_cb: ErrorCallback, group_id: str | None = None
) -> dict[str, Any]:
    """The worker's consumer: manual offsets only, read_committed, static membership with an instance id."""
    kafka = settings.kafka
    config: dict[str, Any] = {
        **CONSUMER_TUNING,
        **kafka.client_options.for_client("consumer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "group.id": group_id or settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "error_cb": error_cb,
        "logger": RDKAFKA_LOG,
    }
    if settings.instance_id:
        config["group.instance.id"] = settings.instance_id
    log.debug("consumer config: %s", masked(config))
    return config


def producer_config(
    settings: WorkerSettings,
    *,
    transactional_id: str | None,
    error_cb: ErrorCallback,
    on_delivery: DeliveryCallback,
) -> dict[str, Any]:
    """The worker's producer: idempotent, acks=all, transactional for exactly-once."""
    kafka = settings.kafka
    config: dict[str, Any] = {
        **PRODUCER_TUNING,
        **PRODUCER_LATENCY[settings.latency],
        **kafka.client_options.for_client("producer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "delivery.report.only.error": True,
        "on_delivery": on_delivery,
        "error_cb": error_cb,
        "logger": RDKAFKA_LOG,
    }
    if transactional_id is not None:
        config["transactional.id"] = transactional_id
    else:
        config.pop("transaction.timeout.ms", None)
    log.debug("producer config: %s", masked(config))
    return config


def plain_producer_config(kafka: KafkaSettings) -> dict[str, Any]:
    """A producer for ``txscreen produce``: idempotent, acks=all, throughput tuning, no transactions."""
    config = {
        **PRODUCER_TUNING,
        **kafka.client_options.for_client("producer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "logger": RDKAFKA_LOG,
    }
    config.pop("transaction.timeout.ms", None)
    return config


def reader_config(kafka: KafkaSettings) -> dict[str, Any]:
    """A consumer for ``txscreen consume``: no group offsets, read_committed, end-of-partition events."""
    return {
        **kafka.client_options.for_client("consumer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "group.id": f"txscreen-reader-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        "logger": RDKAFKA_LOG,
    }
