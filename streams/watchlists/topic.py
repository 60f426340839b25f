"""Reading the watchlist topic: its records, sorted into versions (a manifest and the chunks before it).

The topic has one partition, read ``read_committed`` from the start. :class:`VersionScanner` is
fed each record in topic order; chunks wait under their version until the version's manifest comes,
which turns them into a :class:`Candidate`. A candidate is not trusted yet: :func:`build_lists`
(:func:`streams.watchlists.codec.assemble`) checks it, and a version that fails is *skipped*.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from matchers.watchlist import Watchlist
from schemas.errors import BrokerError, WatchlistError
from streams.kafka.clients import RDKAFKA_LOG, is_fatal
from streams.settings import KafkaSettings
from streams.watchlists.codec import CHUNK_PREFIX, MANIFEST_PREFIX, Manifest, assemble, decode_manifest

log = logging.getLogger(__name__)

#: The default name of the watchlist topic.
DEFAULT_TOPIC = "txscreen.watchlists"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A version whose manifest was read, with the chunk values the reader held for it."""

    manifest: Manifest
    chunks: dict[str, bytes]
    offset: int

    @property
    def version(self) -> str:
        return self.manifest.version

    def build(self) -> tuple[Watchlist, ...]:
        """Its lists, checked against the manifest (WatchlistError with the reason)."""
        return assemble(self.manifest, self.chunks)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A version (or a manifest record) that could not be used, and why."""

    key: str
    offset: int
    reason: str
    version: str | None = None

    def describe(self) -> str:
        what = self.version or self.key
        return f"{what} (offset {self.offset}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Retired:
    """A version whose manifest was tombstoned (``lists publish --keep``): no longer a candidate."""

    version: str


@dataclass
class VersionScanner:
    """Sorts the topic's records into versions, in topic order."""

    pending: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Chunk values by version, for versions whose manifest has not come yet."""

    def feed(self, key: str, value: bytes | None, offset: int) -> Candidate | Skipped | Retired | None:
        """One record: a :class:`Candidate` when it completes a version, :class:`Skipped` for a manifest
        that does not decode, :class:`Retired` for a manifest's tombstone, else None (a chunk, a chunk's
        tombstone, a record of no kind txscreen writes)."""
        if key.startswith(CHUNK_PREFIX):
            version = key[len(CHUNK_PREFIX) :].rsplit(":", 2)[0]
            held = self.pending.setdefault(version, {})
            if value is None:
                held.pop(key, None)
            else:
                held[key] = value
            return None
        if not key.startswith(MANIFEST_PREFIX):
            return None
        version = key[len(MANIFEST_PREFIX) :]
        if value is None:
            self.pending.pop(version, None)
            return Retired(version)
        try:
            manifest = decode_manifest(value)
        except WatchlistError as exc:
            self.pending.pop(version, None)
            return Skipped(key, offset, str(exc), version)
        if manifest.version != version:
            self.pending.pop(version, None)
            return Skipped(key, offset, f"the manifest names version {manifest.version}", version)
        return Candidate(manifest, self.pending.pop(version, {}), offset)


def reader(kafka: KafkaSettings, topic: str) -> Consumer:
    """A consumer of the whole topic from its start: no group offsets, read_committed, end events."""
    consumer = Consumer(
        {
            **kafka.client_options.for_client("consumer"),
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"txscreen-watchlists-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "fetch.message.max.bytes": 8 * 1024 * 1024,
            "logger": RDKAFKA_LOG,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    return consumer


def records(consumer: Consumer, timeout: float) -> Iterator[Message | None]:
    """The consumer's records; None once per end of the partition reached. Unknown-topic errors pass."""
    for message in consumer.consume(1000, timeout):
        error = message.error()
        if error is None:
            yield message
        elif error.code() == KafkaError._PARTITION_EOF:
            yield None
        elif is_fatal(error):
            raise BrokerError(f"reading the watchlist topic {message.topic()}: {error.str()}.")
        else:
            log.debug("watchlist topic: %s", error.str())


def key_of(message: Message) -> str:
    """A record's key as text ('' when it has none)."""
    raw: Any = message.key()
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")


@dataclass
class TopicHistory:
    """Every version on the topic, in order, read to its end: what ``lists status`` and ``publish`` need."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def latest_good(self) -> tuple[Candidate, tuple[Watchlist, ...]] | None:
        """The newest version that builds, and its lists; the newer ones that fail go to :attr:`skipped`."""
        for candidate in reversed(self.candidates):
            try:
                return candidate, candidate.build()
            except WatchlistError as exc:
                self.skipped.append(
                    Skipped(manifest_key_of(candidate), candidate.offset, str(exc), candidate.version)
                )
        return None


def manifest_key_of(candidate: Candidate) -> str:
    return f"{MANIFEST_PREFIX}{candidate.version}"


def read_history(kafka: KafkaSettings, topic: str, timeout: float = 300.0) -> TopicHistory:
    """Read the topic to its end (BrokerError when the end is not reached within ``timeout`` s)."""
    import time

    history = TopicHistory()
    scanner = VersionScanner()
    consumer = reader(kafka, topic)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"could not read the watchlist topic {topic} to its end within {timeout:.0f} s."
                )
            at_end = False
            for message in records(consumer, 0.5):
                if message is None:
                    at_end = True
                    continue
                found = scanner.feed(key_of(message), message.value(), message.offset() or 0)
                if isinstance(found, Candidate):
                    history.candidates.append(found)
                elif isinstance(found, Skipped):
                    history.skipped.append(found)
                elif isinstance(found, Retired):
                    history.candidates = [c for c in history.candidates if c.version != found.version]
            if at_end:
                return history
    finally:
        consumer.close()
