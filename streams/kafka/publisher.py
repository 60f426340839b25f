"""``txscreen produce``: publish JSON Lines payment events to the input topic.

Each non-blank line becomes one record, its bytes unchanged (without the line ending). The key
is the event's ``id`` when the line is a JSON object with a string ``id``; lines that are not
(malformed input) are published as they are, without a key, so that the worker dead-letters them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from confluent_kafka import KafkaError, Message, Producer

from schemas.errors import BrokerError
from streams.kafka.clients import new_client, plain_producer_config
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

FLUSH_TIMEOUT = 60.0


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
        while True:
            try:
                producer.produce(topic, line, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.5)
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
