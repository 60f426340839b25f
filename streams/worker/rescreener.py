"""``txscreen rescreen``: events cleared under an older list version, screened again with the current one.

It reads the cleared topic ``read_committed`` with its own consumer group, from the offsets found by
time for the window (``offsets_for_times``; a group that already committed further on starts there),
through the shared batch loop (:mod:`streams.worker.batch_loop`): exactly-once, each batch's blocked
records committed with its offsets in one transaction. A cleared record whose
``txscreen-watchlist-version`` header names the current version is passed over; the others are
screened through the shared output step (:mod:`streams.outputs`), and those the current version
blocks go to the blocked topic with the header ``txscreen-rescreen: <old> -> <new>`` and the
``rescreen`` member in the blocked record. The allowlist applies as in the worker: the topic is
followed (:class:`~streams.kafka.allowlist.AllowlistFollower`, read to its end before the first
batch), and an event whose every hit an active entry covers (judged against the current version's
entity hashes) is not blocked again. Run twice over the same window, it finds nothing new: the
group's offsets are past it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from matchers.allowlist import apply_allowlist, entity_hashes, parse_time
from matchers.automaton import NameAutomaton
from schemas.errors import BrokerError
from schemas.records import Rescreen, Verdict, with_rescreen
from streams.allowlist import Allowlist
from streams.headers import RESCREEN, SCREENED_AT, WATCHLIST_VERSION, last_header
from streams.kafka.allowlist import AllowlistFollower
from streams.kafka.backpressure import produce
from streams.kafka.clients import MAX_OUTPUT_BYTES, RDKAFKA_LOG
from streams.outputs import KAFKA_MESSAGE, output_records, screen_messages
from streams.settings import Topics, WorkerSettings
from streams.status import Totals
from streams.worker.batch_loop import BatchLoop, Emit

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
CALL_TIMEOUT = 30.0


def _text(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _headers(message: Message) -> list[tuple[str, str | bytes | None]]:
    headers = message.headers() or []
    return list(headers.items() if isinstance(headers, dict) else headers)


class RescreenTransform:
    """Screens the cleared records of older versions; produces only those the current version blocks."""

    kinds: Sequence[str] = ("rescreened", "newly-blocked", "allowlisted", "current")

    def __init__(
        self, automaton: NameAutomaton, topics: Topics, allowlist: AllowlistFollower | None = None
    ) -> None:
        self.automaton = automaton
        self.destinations = topics.by_verdict()
        self.allowlist = allowlist

    def __call__(self, messages: list[Message]) -> Emit:
        """Screen the batch's older records in one ``screen_batch`` call; emit the newly blocked ones."""
        automaton = self.automaton
        older = [
            m for m in messages if _text(last_header(_headers(m), WATCHLIST_VERSION)) != automaton.version
        ]
        records = []
        allowed: dict[int, list[str]] = {}
        if older:
            result = screen_messages(older, KAFKA_MESSAGE, automaton, max_output_bytes=MAX_OUTPUT_BYTES)
            if self.allowlist is not None and result.hits:
                self.allowlist.check()
                active = self.allowlist.allowlist.active(parse_time(result.screened_at))  # the batch's clock
                result, allowed = apply_allowlist(result, [m.value() for m in older], active)
            outputs = output_records(older, KAFKA_MESSAGE, result, self.destinations, allowlisted=allowed)
            for message, verdict, record in zip(older, result.verdicts, outputs, strict=True):
                if verdict is not Verdict.BLOCKED:
                    continue
                headers = _headers(message)
                previous = _text(last_header(headers, WATCHLIST_VERSION)) or UNKNOWN
                marker = Rescreen(
                    previous_version=previous, cleared_at=_text(last_header(headers, SCREENED_AT))
                )
                value = with_rescreen(record.value, marker)
                extra = (RESCREEN, f"{previous} -> {automaton.version}".encode())
                records.append(record._replace(value=value, headers=[*record.headers, extra]))
        counts = {
            "rescreened": len(older),
            "newly-blocked": len(records),
            "allowlisted": len(allowed),
            "current": len(messages) - len(older),
        }

        def emit(producer: Producer) -> dict[str, int]:
            for record in records:
                produce(producer, record.topic, record.value, record.key, headers=record.headers)
            return counts

        return emit


def start_offsets(settings: WorkerSettings, topic: str, since: datetime) -> dict[int, int]:
    """Move the group's committed offsets on ``topic`` forward to the first record at or after ``since``
    (a partition the group already read past stays where it is); returns the start offset per partition."""
    kafka = settings.kafka
    consumer = Consumer(
        {
            **kafka.client_options.for_client("consumer"),
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": settings.group_id,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "logger": RDKAFKA_LOG,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=CALL_TIMEOUT).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise BrokerError(f"the cleared topic {topic} does not exist.", topic=topic)
        partitions = sorted(metadata.partitions)
        millis = int(since.timestamp() * 1000)
        by_time = consumer.offsets_for_times(
            [TopicPartition(topic, p, millis) for p in partitions], CALL_TIMEOUT
        )
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], CALL_TIMEOUT)
        starts: dict[int, int] = {}
        moves: list[TopicPartition] = []
        for found, done in zip(by_time, committed, strict=True):
            p = found.partition
            if found.offset < 0:  # no record at or after the time: start at the end
                found_offset = consumer.get_watermark_offsets(TopicPartition(topic, p), CALL_TIMEOUT)[1]
            else:
                found_offset = found.offset
            start = max(found_offset, done.offset if done.offset >= 0 else 0)
            starts[p] = start
            if done.offset < start:
                moves.append(TopicPartition(topic, p, start))
        if moves:
            consumer.commit(offsets=moves, asynchronous=False)
        return starts
    except KafkaException as exc:
        raise BrokerError(
            f"could not find the start offsets on {topic}: {exc.args[0].str()}.", topic=topic
        ) from exc
    finally:
        consumer.close()


def run_rescreen(settings: WorkerSettings, automaton: NameAutomaton, since: datetime) -> Totals:
    """Re-screen the cleared topic from ``since`` to its end (``settings.until_idle`` idle ends it)."""
    topics = settings.kafka.topics
    starts = start_offsets(settings, topics.cleared, since)
    log.info(
        "rescreen: %s from %s (offsets %s) against version %s, group %s",
        topics.cleared,
        since.isoformat(),
        ", ".join(f"[{p}]@{o}" for p, o in sorted(starts.items())),
        automaton.version,
        settings.group_id,
    )
    allowlist = AllowlistFollower(settings.kafka, Allowlist(hashes=entity_hashes(automaton.watchlists)))
    allowlist.start()
    try:
        allowlist.wait_caught_up()  # every entry approved before the run applies to its first batch
        transform = RescreenTransform(automaton, topics, allowlist)
        loop = BatchLoop(settings, transform, name="rescreen", topic=topics.cleared)
        return loop.run()
    finally:
        allowlist.stop()
