"""The screening worker (``txscreen run``): the shared batch loop with screening as its transform.

Per batch: the values go through :func:`matchers.screening.screen_batch` in one call, then each
input is produced once to the topic of its verdict (cleared → original bytes, blocked → blocked
record, malformed → dead letter whose ``source`` is ``{"topic", "partition", "offset"}``), with its
key, its headers (without any ``txscreen-*`` header of its own: those are dropped, counted and
logged once per batch) and the three txscreen headers (:mod:`streams.headers`). The loop
(:mod:`streams.worker.batch_loop`) commits the batch's offsets with that output.

Fail closed: the watchlists are loaded, and the four topics checked, before any Kafka consumer
exists; a list that does not load stops the worker with nothing consumed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from matchers.automaton import NameAutomaton
from matchers.screening import BatchResult, screen_batch
from schemas.records import Hit
from streams.headers import own_headers, routes
from streams.kafka.clients import MAX_OUTPUT_BYTES, admin_config, new_client
from streams.kafka.topics import require_topics
from streams.lists import load_automaton
from streams.oversized import dead_letter_oversized
from streams.settings import Topics, WorkerSettings
from streams.status import Totals
from streams.worker.batch_loop import BatchLoop, Emit, span, where

log = logging.getLogger(__name__)

CLEARED: Final = "cleared"
BLOCKED: Final = "blocked"
DEAD_LETTERED: Final = "dead-lettered"


def source(message: Message) -> dict[str, Any]:
    """Where an input came from, as a blocked record's or dead letter's ``source``."""
    return {"topic": message.topic(), "partition": message.partition(), "offset": message.offset()}


def describe_hits(hits: Sequence[Hit]) -> str:
    """``us-eo-2020:bytedance 'TikTok' in creditor.name (anywhere)``, for each hit."""
    return "; ".join(f"{h.entity_id} {h.matched_text!r} in {h.field} ({h.rule})" for h in hits)


class ScreeningTransform:
    """Screens a batch, then produces each input once, to the topic of its verdict."""

    kinds: Sequence[str] = (CLEARED, BLOCKED, DEAD_LETTERED)

    def __init__(self, automaton: NameAutomaton, topics: Topics) -> None:
        self.automaton = automaton
        self.topics = topics

    def __call__(self, messages: list[Message]) -> Emit:
        """Screen the batch (one ``screen_batch`` call); the returned step produces its outputs."""
        result = screen_batch(
            [m.value() for m in messages],
            self.automaton,
            datetime.now(UTC),  # rule f: the screening time
            source_of=lambda i: source(messages[i]),
        )
        values = result.values
        if max(map(len, values)) > MAX_OUTPUT_BYTES:
            values = dead_letter_oversized(
                result, lambda i: source(messages[i]), raw_of=lambda i: messages[i].value()
            )
        _log_outcomes(messages, result)
        route = routes(self.topics, result.watchlist_version, result.screened_at)
        outputs: list[tuple[str, Any]] = []
        dropped = 0
        for message, verdict in zip(messages, result.verdicts, strict=True):
            topic, extra = route[verdict]
            headers, forged = own_headers(message.headers(), extra)
            dropped += forged
            outputs.append((topic, headers))
        if dropped:
            log_dropped_headers(dropped, span(messages))

        def emit(producer: Producer) -> dict[str, int]:
            produce = producer.produce
            for message, (topic, headers), value in zip(messages, outputs, values, strict=True):
                try:
                    produce(topic, value, message.key(), headers=headers)
                except BufferError:  # the producer queue is full: wait for deliveries, then go on
                    producer.poll(1.0)
                    producer.produce(topic, value, message.key(), headers=headers)
            return {CLEARED: result.cleared, BLOCKED: result.blocked, DEAD_LETTERED: result.dead_lettered}

        return emit


def log_dropped_headers(count: int, inputs: str) -> None:
    """The one WARNING of a batch whose inputs carried ``txscreen-*`` headers (names and values not shown)."""
    log.warning(
        "dropped %d txscreen-* header%s carried by the inputs %s: only txscreen sets them",
        count,
        "" if count == 1 else "s",
        inputs,
    )


def blocked_event_id(record: bytes) -> str | None:
    """The ``id`` of the event a blocked record embeds (None if it cannot be read)."""
    try:
        event = orjson.loads(record).get("event")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    event_id = event.get("id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else None


def log_blocked(place: str, record: bytes, hits: Sequence[Hit]) -> None:
    """One INFO line per blocked input: where, the event id, each entity id and rule; no names or texts.

    Payment data in logs is personal data: the matched texts and fields come at DEBUG only.
    """
    entities = ", ".join(dict.fromkeys(f"{h.entity_id} ({h.rule})" for h in hits))
    log.info("blocked %s: event %r; %s", place, blocked_event_id(record), entities)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("blocked %s: %s", place, describe_hits(hits))


def _log_outcomes(messages: list[Message], result: BatchResult) -> None:
    """One line per blocked input (INFO) and per dead letter (WARNING), naming topic[partition]@offset."""
    if result.hits and log.isEnabledFor(logging.INFO):
        for i, hits in result.hits.items():
            log_blocked(where(messages[i]), result.values[i], hits)
    for i, error in result.errors.items():
        log.warning("dead-lettered %s (key %r): %s", where(messages[i]), messages[i].key(), error)


def run_worker(settings: WorkerSettings) -> Totals:
    """Load the watchlists, check the topics, then screen until stopped (WatchlistError, BrokerError)."""
    automaton = load_automaton(settings.watchlists or None)  # fail closed: before any consumer exists
    topics = settings.kafka.topics
    require_topics(new_client(AdminClient, admin_config(settings.kafka)), topics.all)
    loop = BatchLoop(settings, ScreeningTransform(automaton, topics), name="screener")
    return loop.run()
