"""The worker's allowlist follower: the allowlist topic, read_committed, into an :class:`Allowlist`."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import msgspec
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from schemas.decisions import decode_allow_entry
from schemas.errors import BrokerError
from streams.allowlist import Allowlist
from streams.kafka.clients import RDKAFKA_LOG, is_fatal, new_client
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

#: Seconds the worker waits at start for the allowlist topic to be read to its end.
CATCH_UP_TIMEOUT = 60.0


class AllowlistFollower(threading.Thread):
    """Follows the allowlist topic into an :class:`Allowlist` until :meth:`stop` (a daemon thread)."""

    def __init__(self, kafka: KafkaSettings, allowlist: Allowlist, topic: str | None = None) -> None:
        super().__init__(name="allowlist-follower", daemon=True)
        self.kafka = kafka
        self.topic = topic or kafka.topics.allowlist
        self.allowlist = allowlist
        self.caught_up = threading.Event()
        self._stop = threading.Event()
        self.error: BaseException | None = None

    def _consumer(self) -> tuple[Consumer, int] | None:
        config = {
            **self.kafka.client_options.for_client("consumer"),
            "bootstrap.servers": self.kafka.bootstrap_servers,
            "group.id": f"txscreen-allowlist-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "logger": RDKAFKA_LOG,
        }
        consumer = new_client(Consumer, config)
        try:
            info = consumer.list_topics(self.topic, timeout=30.0).topics.get(self.topic)
        except KafkaException as exc:
            consumer.close()
            raise BrokerError(f"the allowlist topic {self.topic} cannot be described: {exc}.") from exc
        if info is None or info.error is not None or not info.partitions:
            consumer.close()
            return None
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in info.partitions])
        return consumer, len(info.partitions)

    def run(self) -> None:
        """Read the topic from the start, then follow it; ``caught_up`` is set once at its end."""
        try:
            made = self._consumer()
            if made is None:
                log.warning(
                    "the allowlist topic %s does not exist: no allowlist entry applies "
                    "(txscreen topics create makes it)",
                    self.topic,
                )
                self.caught_up.set()
                return
            consumer, partitions = made
            at_end: set[int] = set()
            try:
                while not self._stop.is_set():
                    message = consumer.poll(0.2)
                    if message is None:
                        continue
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            at_end.add(message.partition() or 0)
                            if len(at_end) == partitions and not self.caught_up.is_set():
                                log.info("allowlist: %d approved entries", len(self.allowlist.entries()))
                                self.caught_up.set()
                        elif is_fatal(error):  # a dead follower would keep revoked entries applying
                            raise BrokerError(f"reading the allowlist topic: {error.str()}.")
                        continue
                    self._apply(message.key(), message.value())
            finally:
                consumer.close()
        except BaseException as exc:  # the worker sees it at its next batch and stops
            self.error = exc
            self.caught_up.set()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        entry_id = (key or b"").decode("utf-8", "replace")
        if value is None:
            self.allowlist.put(entry_id, None)
            log.info("allowlist entry %s revoked", entry_id)
            return
        try:
            entry = decode_allow_entry(value)
        except msgspec.MsgspecError as exc:  # not an entry: it covers nothing (fail closed)
            log.warning("allowlist record %s is not an entry and is ignored: %s", entry_id, exc)
            return
        self.allowlist.put(entry.entry_id, entry)
        log.info("allowlist entry %s approved for entity %s", entry.entry_id, entry.entity_id)

    def wait_caught_up(self, timeout: float = CATCH_UP_TIMEOUT) -> None:
        """Block until the topic was read to its end; BrokerError when it was not in ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.caught_up.wait(0.2):
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the allowlist topic {self.topic} was not read to its end in {timeout:.0f} s."
                )
        self.check()

    def check(self) -> None:
        """Raise the follower's error, if it stopped on one."""
        if self.error is not None:
            raise BrokerError(
                f"following the allowlist topic {self.topic} failed: {self.error}"
            ) from self.error

    def stop(self) -> None:
        """Ask the thread to stop (it closes its consumer)."""
        self._stop.set()
