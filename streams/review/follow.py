"""Rebuilding and following the review state: the blocked and decisions topics, read_committed.

One consumer, outside any group, reads every partition of both topics from the beginning. The
service serves only once both were read to their end (:meth:`ReviewFollower.wait_caught_up`), so a
restart gives the same cases; it then keeps following them, so new blocked records become cases.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import msgspec
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.decisions import decode_decision
from schemas.errors import BrokerError
from streams.kafka.clients import RDKAFKA_LOG, is_fatal, new_client
from streams.review.state import ReviewState, decode_blocked_message
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)


class ReviewFollower(threading.Thread):
    """Reads the blocked and decisions topics into a :class:`ReviewState` until stopped."""

    def __init__(self, kafka: KafkaSettings, state: ReviewState) -> None:
        super().__init__(name="review-follower", daemon=True)
        self.kafka = kafka
        self.state = state
        self.caught_up = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()

    def _assign(self, consumer: Consumer) -> int:
        topics = (self.kafka.topics.blocked, self.kafka.topics.decisions)
        assignment: list[TopicPartition] = []
        for topic in topics:
            try:
                info = consumer.list_topics(topic, timeout=30.0).topics.get(topic)
            except KafkaException as exc:
                raise BrokerError(
                    f"the Kafka cluster did not describe {topic}: {exc.args[0].str()}."
                ) from exc
            if info is None or info.error is not None or not info.partitions:
                raise BrokerError(
                    f"topic {topic} does not exist; create the topics with `txscreen topics create`.",
                    topic=topic,
                )
            assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in info.partitions]
        consumer.assign(assignment)
        return len(assignment)

    def run(self) -> None:
        """Read both topics from the start, then follow them."""
        config = {
            **self.kafka.client_options.for_client("consumer"),
            "bootstrap.servers": self.kafka.bootstrap_servers,
            "group.id": f"txscreen-review-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "logger": RDKAFKA_LOG,
        }
        try:
            consumer = new_client(Consumer, config)
            try:
                partitions = self._assign(consumer)
                at_end: set[tuple[str, int]] = set()
                while not self._stop.is_set():
                    message = consumer.poll(0.2)
                    if message is None:
                        continue
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            at_end.add((message.topic() or "", message.partition() or 0))
                            if len(at_end) == partitions and not self.caught_up.is_set():
                                self.caught_up.set()
                        elif is_fatal(error):
                            raise BrokerError(f"reading the review topics: {error.str()}.")
                        continue
                    self.apply(message)
            finally:
                consumer.close()
        except BaseException as exc:
            self.error = exc
            self.caught_up.set()

    def apply(self, message: Message) -> None:
        """Apply one consumed record to the state."""
        topic, value = message.topic(), message.value()
        if value is None:
            return
        if topic == self.kafka.topics.blocked:
            _kind, timestamp = message.timestamp()
            blocked = decode_blocked_message(
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                key=message.key(),
                headers=message.headers(),
                value=value,
                timestamp_ms=timestamp,
            )
            if blocked is None:
                log.warning(
                    "%s[%s]@%s is not a blocked record; no case", topic, message.partition(), message.offset()
                )
            else:
                self.state.add_blocked(blocked)
            return
        try:
            decision = decode_decision(value)
        except msgspec.MsgspecError as exc:
            log.warning(
                "%s[%s]@%s is not a decision record: %s", topic, message.partition(), message.offset(), exc
            )
            return
        self.state.add_decision(decision)

    def wait_caught_up(self, timeout: float = 300.0) -> None:
        """Block until both topics were read to their end (BrokerError on failure or timeout)."""
        deadline = time.monotonic() + timeout
        while not self.caught_up.wait(0.2):
            if time.monotonic() > deadline:
                raise BrokerError(f"the review topics were not read to their end within {timeout:.0f} s.")
        if self.error is not None:
            if isinstance(self.error, BrokerError):
                raise self.error
            raise BrokerError(f"reading the review topics failed: {self.error}") from self.error

    def stop(self) -> None:
        """Ask the thread to stop."""
        self._stop.set()
