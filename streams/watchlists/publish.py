"""``txscreen lists publish``: a list set becomes one version on the watchlist topic, in one transaction.

The sources are loaded the same fail-closed way as ``--watchlist`` (:mod:`matchers.sources`), then
checked against the guards, then published (chunks first, the manifest last: :mod:`.codec`) in one
Kafka transaction. A guard that fails is a :class:`PublishRefused` (exit 2, one sentence) and
nothing is written:

* a list with no entity;
* a list whose entity count drops by more than :data:`MAX_DROP` from the current version, or a list
  of the current version that is missing (``--allow-shrink`` overrides);
* a source whose sha256 is not the ``--expect-sha256`` one.

Publishing the current version again writes nothing. ``keep`` versions are kept on the topic: the
records of older ones are tombstoned in the same transaction, so compaction removes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from matchers.sources import load_watchlists
from matchers.watchlist import Watchlist, watchlist_version
from schemas.errors import BrokerError, TxscreenError
from schemas.records import timestamp
from streams.kafka.clients import RDKAFKA_LOG, admin_config, new_client
from streams.settings import KafkaSettings
from streams.watchlists.codec import (
    Changes,
    ListInfo,
    Manifest,
    changes,
    chunks_of,
    encode_manifest,
    manifest_key,
)
from streams.watchlists.sources import source_date, source_sha256
from streams.watchlists.topic import TopicHistory, read_history

log = logging.getLogger(__name__)

#: The largest share of a list's entities a publish may drop without ``--allow-shrink``.
MAX_DROP = 0.10
CALL_TIMEOUT = 60.0


class PublishRefused(TxscreenError):
    """A guard refused the publish; nothing was written."""


@dataclass(frozen=True, slots=True)
class Published:
    """What a publish did."""

    manifest: Manifest
    previous: str | None
    changes: Changes | None
    written: bool
    records: int
    tombstoned: int


def parse_expectations(entries: Sequence[str], sources: Sequence[str]) -> dict[str, str]:
    """``--expect-sha256 [SRC=]HEX`` entries as {source: hex}; a bare HEX needs exactly one source."""
    expected: dict[str, str] = {}
    for entry in entries:
        src, eq, digest = entry.rpartition("=")
        if not eq:
            if len(sources) != 1:
                raise PublishRefused(
                    f"--expect-sha256 {entry} names no source, and {len(sources)} sources are published: "
                    "write it SRC=HEX."
                )
            src = sources[0]
        if src not in sources:
            raise PublishRefused(f"--expect-sha256 names {src!r}, which is not one of the published sources.")
        expected[src] = digest.strip().lower().removeprefix("sha256:")
    return expected


def check_guards(
    lists: Sequence[Watchlist], current: Manifest | None, *, allow_shrink: bool, max_drop: float = MAX_DROP
) -> None:
    """PublishRefused for an empty list, or a list that shrinks too much (unless ``allow_shrink``)."""
    for wl in lists:
        if not wl.entities:
            raise PublishRefused(f"list {wl.list_id} from {wl.source} has no entity; nothing was published.")
    if current is None or allow_shrink:
        return
    new_counts = {wl.list_id: len(wl.entities) for wl in lists}
    for info in current.lists:
        count = new_counts.get(info.list_id, 0)
        if info.entities and count < info.entities * (1 - max_drop):
            drop = 1 - count / info.entities
            raise PublishRefused(
                f"list {info.list_id} would drop from {info.entities:,} to {count:,} entities ({drop:.0%}, "
                f"more than {max_drop:.0%}) from the current version {current.version}; "
                "give --allow-shrink if that is intended. Nothing was published."
            )


def build_manifest(
    lists: Sequence[Watchlist],
    sources: Sequence[str],
    digests: Mapping[str, str],
    publisher: str,
    at: datetime,
) -> Manifest:
    """The manifest of a list set loaded from ``sources`` (in the same order)."""
    version = watchlist_version(lists)
    infos = [
        ListInfo(
            list_id=wl.list_id,
            source=wl.source,
            source_date=source_date(src),
            sha256=digests[src],
            entities=len(wl.entities),
            names=wl.name_count,
            content_hash=wl.content_hash,
            description=wl.description,
            chunks=sum(1 for _ in chunks_of(version, wl)),
        )
        for wl, src in zip(lists, sources, strict=True)
    ]
    return Manifest(version=version, published_at=timestamp(at), publisher=publisher, lists=infos)


def ensure_topic(kafka: KafkaSettings, topic: str) -> None:
    """Create the topic (one partition, compacted) unless it exists; BrokerError if it has more partitions."""
    admin = new_client(AdminClient, admin_config(kafka))
    metadata = admin.list_topics(timeout=30)
    found = metadata.topics.get(topic)
    if found is not None and found.error is None:
        if len(found.partitions) != 1:
            raise BrokerError(
                f"the watchlist topic {topic} has {len(found.partitions)} partitions; it needs exactly one.",
                topic=topic,
            )
        return
    config = {"cleanup.policy": "compact", "max.message.bytes": str(1024 * 1024 + 1024)}
    future = admin.create_topics([NewTopic(topic, 1, -1, config=config)], operation_timeout=30)[topic]
    try:
        future.result()
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise BrokerError(f"could not create the watchlist topic {topic}: {exc.args[0].str()}.") from exc
    else:
        log.info("created the watchlist topic %s (1 partition, compacted)", topic)


def publisher_producer(kafka: KafkaSettings, topic: str) -> Producer:
    """A transactional producer whose id is the topic's: two publishers of one topic fence each other,
    and a publisher killed mid-transaction has it aborted by the next one."""
    tuning = {
        "compression.type": "lz4",
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "message.max.bytes": 1_000_000 + 64 * 1024,
        "transaction.timeout.ms": 120_000,
    }
    config = {
        **tuning,  # -X producer.… options may change these, not the guarantees below
        **kafka.client_options.for_client("producer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "transactional.id": f"txscreen-lists-publish-{topic}",
        "enable.idempotence": True,
        "acks": "all",
        "logger": RDKAFKA_LOG,
    }
    return Producer(config)


def tombstones(history: TopicHistory, keep: int, new_version: str) -> list[str]:
    """Keys of the records of versions older than the newest ``keep`` (the new one counts)."""
    versions: list[str] = []
    for candidate in reversed(history.candidates):
        if candidate.version not in versions and candidate.version != new_version:
            versions.append(candidate.version)
    old = {c.version: c for c in history.candidates if c.version in versions[max(keep - 1, 0) :]}
    keys: list[str] = []
    for candidate in old.values():
        keys.extend(candidate.manifest.chunk_keys)
        keys.append(manifest_key(candidate.version))
    return keys


def publish(
    kafka: KafkaSettings,
    topic: str,
    sources: Sequence[str],
    *,
    publisher: str,
    at: datetime,
    allow_shrink: bool = False,
    expect_sha256: Mapping[str, str] | None = None,
    keep: int = 5,
) -> Published:
    """Load, check and publish ``sources`` as one version (WatchlistError, PublishRefused, BrokerError)."""
    lists = load_watchlists(sources)  # fail closed, as --watchlist
    digests = {src: source_sha256(src) for src in sources}
    for src, wanted in (expect_sha256 or {}).items():
        if digests[src] != wanted:
            raise PublishRefused(
                f"the sha256 of {src} is {digests[src]}, not the expected {wanted}; nothing was published."
            )
    ensure_topic(kafka, topic)
    # The producer first: init_transactions fences an earlier publisher and aborts a transaction it left
    # open (a publisher killed mid-publish), which would otherwise hold read_committed readers back.
    producer = init_producer(kafka, topic)
    history = read_history(kafka, topic)
    current = history.latest_good()
    current_manifest = current[0].manifest if current else None
    check_guards(lists, current_manifest, allow_shrink=allow_shrink)
    manifest = build_manifest(lists, sources, digests, publisher, at)
    diff = changes(current[1], lists) if current else None
    previous = current_manifest.version if current_manifest else None
    if previous == manifest.version:
        return Published(manifest, previous, diff, False, 0, 0)
    dead = tombstones(history, keep, manifest.version)
    records = write_version(kafka, topic, lists, manifest, dead, producer=producer)
    return Published(manifest, previous, diff, True, records, len(dead))


def init_producer(kafka: KafkaSettings, topic: str) -> Producer:
    """The topic's transactional producer, initialized (BrokerError when the cluster refuses)."""
    producer = publisher_producer(kafka, topic)
    try:
        producer.init_transactions(CALL_TIMEOUT)
    except KafkaException as exc:
        raise BrokerError(f"could not start publishing to {topic}: {exc.args[0].str()}.") from exc
    return producer


def write_version(
    kafka: KafkaSettings,
    topic: str,
    lists: Sequence[Watchlist],
    manifest: Manifest,
    dead: Sequence[str] = (),
    *,
    producer: Producer | None = None,
) -> int:
    """One transaction: the chunks of ``lists``, then ``manifest``, then tombstones for ``dead`` keys; how
    many records it wrote (BrokerError when the transaction fails: then nothing is visible)."""
    producer = producer or init_producer(kafka, topic)
    records = 0
    try:
        producer.begin_transaction()
        for wl in lists:
            for key, value in chunks_of(manifest.version, wl):
                _produce(producer, topic, key, value)
                records += 1
        _produce(producer, topic, manifest_key(manifest.version), encode_manifest(manifest))
        records += 1
        for key in dead:
            _produce(producer, topic, key, None)
        producer.commit_transaction(CALL_TIMEOUT)
    except KafkaException as exc:
        raise BrokerError(f"could not publish to the watchlist topic {topic}: {exc.args[0].str()}.") from exc
    return records


def _produce(producer: Producer, topic: str, key: str, value: bytes | None) -> None:
    while True:
        try:
            producer.produce(topic, value, key.encode("utf-8"), partition=0)
            return
        except BufferError:
            producer.poll(0.1)
