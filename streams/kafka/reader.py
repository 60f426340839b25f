"""``txscreen consume``: read a topic from the beginning, read_committed, for a person at a shell.

Every partition is read from its start without joining a group or committing anything, until
each partition is at its end (the last committed offset), ``--max`` records were read, or no
record came for ``--timeout`` seconds. Each record prints as one JSON object::

    {"topic": "payments.blocked", "partition": 0, "offset": 12, "key": "pay-7",
     "headers": [["txscreen-verdict", "blocked"], ...], "value": {...}}

``headers`` is the list of ``[name, value]`` pairs in record order, so a repeated name shows as
often as it was sent. ``value`` is the parsed JSON when the value is JSON, else the text; a key,
a header value or a value that is not UTF-8 is shown as base64 and marked (``"key_encoding":
"base64"``, ``"value_encoding": "base64"``, or ``[name, value, "base64"]`` for a header).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import BrokerError
from streams.kafka.clients import new_client, reader_config
from streams.settings import KafkaSettings

#: Seconds to wait for the cluster to describe the topic (librdkafka's connection errors meanwhile are
#: logged at most once per reconnect interval: streams.kafka.clients.REPEAT_INTERVAL).
METADATA_TIMEOUT = 30.0


def _text(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def record_json(message: Message) -> dict[str, Any]:
    """A consumed record as a JSON-ready dict: where, key, headers (every pair, in order) and value."""
    key: Any = message.key()
    pairs: Any = message.headers() or ()  # a list of (name, bytes) on a consumed message
    headers: list[list[str | None]] = []
    for name, data in pairs:
        if data is None:
            headers.append([name, None])
            continue
        text, encoding = _text(data)
        headers.append([name, text] if encoding == "utf-8" else [name, text, encoding])
    record: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": None,
        "headers": headers,
    }
    if key is not None:
        record["key"], key_encoding = _text(key)
        if key_encoding != "utf-8":
            record["key_encoding"] = key_encoding
    value: Any = message.value()
    if value is None:
        record["value"] = None
        return record
    try:
        record["value"] = orjson.loads(value)
    except orjson.JSONDecodeError:
        record["value"], encoding = _text(value)
        if encoding != "utf-8":
            record["value_encoding"] = encoding
    return record


def read_topic(
    kafka: KafkaSettings, topic: str, *, max_records: int | None = None, timeout: float = 10.0
) -> Iterator[Message]:
    """The records of ``topic`` from the start until the end of every partition, ``max_records``, or idle."""
    consumer = new_client(Consumer, reader_config(kafka))
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=METADATA_TIMEOUT)
        except KafkaException as exc:
            raise BrokerError(
                f"the Kafka cluster at {kafka.bootstrap_servers} did not answer within "
                f"{METADATA_TIMEOUT:.0f} s: {exc.args[0].str()}."
            ) from exc
        info = metadata.topics.get(topic)
        if info is None or info.error is not None or not info.partitions:
            raise BrokerError(f"topic {topic} does not exist.", topic=topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in info.partitions])
        at_end: set[int] = set()
        read = 0
        last_seen = time.monotonic()
        while len(at_end) < len(info.partitions) and (max_records is None or read < max_records):
            if time.monotonic() - last_seen > timeout:
                break
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
                    last_seen = time.monotonic()
                    continue
                raise BrokerError(
                    f"reading {topic}: {error.str()}.", topic=topic, partition=message.partition()
                )
            at_end.discard(message.partition() or 0)
            last_seen = time.monotonic()
            read += 1
            yield message
    finally:
        consumer.close()


def format_record(message: Message) -> str:
    """One line of ``txscreen consume`` output."""
    return orjson.dumps(record_json(message)).decode()
