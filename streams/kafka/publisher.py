"""Publishing to a topic: ``txscreen produce`` (JSON Lines to the input topic) and the load generator's sink.

Each non-blank line becomes one record, its bytes unchanged (without the line ending). The key
is the event's ``id`` when the line is a JSON object with a string ``id``; lines that are not
(malformed input) are published as they are, without a key, so that the worker dead-letters them.
:class:`KafkaSink` produces the load generator's chunks of (key, value) pairs. Both wait for room in a
full producer queue through :func:`streams.kafka.backpressure.produce`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from confluent_kafka import KafkaError, Message, Producer

from schemas.errors import BrokerError
from streams.headers import PRODUCED_AT, Headers
from streams.kafka.backpressure import produce
from streams.kafka.clients import new_client, plain_producer_config
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

FLUSH_TIMEOUT: Final = 60.0
#: One chunk of the load generator: (key, value) pairs.
Chunk = list[tuple[bytes, bytes]]


def event_key(line: bytes) -> bytes | None:
    """The event id of a JSON Lines record as key bytes, or None when it has none."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(event, dict):
        event_id = event.get("id")
        if isinstance(event_id, str) and event_id:
            return event_id.encode()
    return None


@dataclass
class Published:
    """What ``publish`` did: records sent, how many had a key, delivery failures."""

    sent: int = 0
    keyed: int = 0
    failed: int = 0
    first_error: str = ""


def publish(lines: Iterable[bytes], topic: str, kafka: KafkaSettings) -> Published:
    """Produce each non-blank line to ``topic`` (acks=all, idempotent); BrokerError if one is undelivered."""
    outcome = Published()

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            outcome.failed += 1
            outcome.first_error = outcome.first_error or error.str()

    producer = new_client(Producer, plain_producer_config(kafka))
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        key = event_key(line)
        produce(producer, topic, line, key, on_delivery=on_delivery)
        outcome.sent += 1
        outcome.keyed += key is not None
        producer.poll(0)
    remaining = producer.flush(FLUSH_TIMEOUT)
    if remaining:
        raise BrokerError(
            f"{remaining} of {outcome.sent} events were still undelivered to {topic} after "
            f"{FLUSH_TIMEOUT:.0f} s; is the cluster at {kafka.bootstrap_servers} up?",
            topic=topic,
        )
    if outcome.failed:
        raise BrokerError(
            f"{outcome.failed} of {outcome.sent} events could not be delivered to {topic}: "
            f"{outcome.first_error}.",
            topic=topic,
        )
    return outcome


class KafkaSink:
    """Produces each event to ``topic``, keyed by event id, timestamped at the ``produce`` call."""

    def __init__(self, config: dict[str, Any], topic: str, *, produced_at_header: bool = False) -> None:
        self.topic = topic
        self.produced_at_header = produced_at_header
        self.failed = 0
        self.first_error = ""
        self.producer = new_client(
            Producer, {**config, "delivery.report.only.error": True, "on_delivery": self._report}
        )

    def _report(self, error: Any, _message: Any) -> None:
        if error is not None:
            self.failed += 1
            self.first_error = self.first_error or error.str()

    def send(self, chunk: Chunk) -> None:
        producer, topic, header = self.producer, self.topic, self.produced_at_header
        clock = time.time_ns
        for key, value in chunk:
            now = clock()
            headers: Headers | None = [(PRODUCED_AT, b"%d" % now)] if header else None
            produce(producer, topic, value, key, timestamp=now // 1_000_000, headers=headers)
        producer.poll(0)

    def close(self) -> None:
        remaining = self.producer.flush(FLUSH_TIMEOUT)
        if remaining:
            raise BrokerError(
                f"{remaining:,} events were still undelivered to {self.topic} after {FLUSH_TIMEOUT:.0f} s.",
                topic=self.topic,
            )
        if self.failed:
            raise BrokerError(
                f"{self.failed:,} events could not be delivered to {self.topic}: {self.first_error}.",
                topic=self.topic,
            )
