"""Producing when the producer's queue is full: the one place every engine waits for room.

librdkafka raises ``BufferError`` when its local queue is full. :func:`produce` then serves delivery
reports (``poll``), which frees room, and tries again, until the record is queued or
:data:`QUEUE_FULL_TIMEOUT` seconds have passed; then it raises :class:`~schemas.errors.BrokerError`
(a queue that stays full that long means the brokers do not take what is sent). A ``BufferError``
never escapes. Used by the worker, the copier, the publisher, the dlq replay and the load generator;
the Faust engine sends through aiokafka, whose ``send`` waits for room itself. :func:`produce_records`
queues a whole batch the same way, calling ``Producer.produce`` directly while there is room: it runs
once per event of every batch of the worker and the copier.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Final

from confluent_kafka import Producer

from schemas.errors import BrokerError

#: Longest wait for room in a full producer queue before giving up.
QUEUE_FULL_TIMEOUT: Final = 60.0
#: How long each wait serves delivery reports before trying again.
_POLL_SECONDS: Final = 0.05


def produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | None = None,
    *,
    timeout: float = QUEUE_FULL_TIMEOUT,
    **kwargs: Any,
) -> None:
    """Queue one record, waiting while the queue is full (``kwargs``: headers, timestamp, on_delivery)."""
    try:
        producer.produce(topic, value, key, **kwargs)
    except BufferError:
        pass
    else:
        return
    deadline = time.monotonic() + timeout
    while True:
        producer.poll(_POLL_SECONDS)  # deliveries free room in the queue
        try:
            producer.produce(topic, value, key, **kwargs)
        except BufferError as exc:
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"the producer's queue stayed full for {timeout:.0f} s: the brokers do not take "
                    f"what is sent to {topic}.",
                    topic=topic,
                ) from exc
        else:
            return


#: One record to queue: (topic, key, value, headers), as :class:`streams.outputs.OutputRecord` is.
Record = tuple[str, bytes | None, bytes | None, Any]


def produce_records(producer: Producer, records: Iterable[Record]) -> None:
    """Queue the records in order, each once, waiting for room as :func:`produce` does when it is full."""
    send = producer.produce
    for topic, key, value, headers in records:
        try:
            send(topic, value, key, headers=headers)
        except BufferError:
            produce(producer, topic, value, key, headers=headers)
