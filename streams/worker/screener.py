"""The screening worker (``txscreen run``): the shared batch loop with screening as its transform.

Per batch: the values go through :func:`matchers.screening.screen_batch` in one call, and the
shared output step (:mod:`streams.outputs`) turns the result into one record per input, to the
topic of its verdict (cleared → original bytes, blocked → blocked record, malformed → dead letter
whose ``source`` is ``{"topic", "partition", "offset"}``), with its key, its own headers and the
three txscreen headers; this module only produces them (:mod:`streams.kafka.backpressure`). The loop
(:mod:`streams.worker.batch_loop`) commits the batch's offsets with that output.

Fail closed: the watchlists are loaded, and the four topics checked, before any Kafka consumer
exists; a list that does not load stops the worker with nothing consumed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from matchers.automaton import NameAutomaton
from schemas.records import Verdict
from streams.kafka.backpressure import produce
from streams.kafka.clients import MAX_OUTPUT_BYTES, admin_config, new_client
from streams.kafka.topics import require_topics
from streams.lists import load_automaton
from streams.outputs import KAFKA_MESSAGE, counts, output_records, screen_messages
from streams.settings import Topics, WorkerSettings
from streams.status import Totals
from streams.worker.batch_loop import BatchLoop, Emit

log = logging.getLogger(__name__)


class ScreeningTransform:
    """Screens a batch, then produces each input once, to the topic of its verdict."""

    kinds: Sequence[str] = tuple(v.count_name for v in Verdict)

    def __init__(self, automaton: NameAutomaton, topics: Topics) -> None:
        self.automaton = automaton
        self.destinations = topics.by_verdict()

    def __call__(self, messages: list[Message]) -> Emit:
        """Screen the batch (one ``screen_batch`` call); the returned step produces its outputs."""
        result = screen_messages(messages, KAFKA_MESSAGE, self.automaton, max_output_bytes=MAX_OUTPUT_BYTES)
        records = output_records(messages, KAFKA_MESSAGE, result, self.destinations)
        batch_counts = counts(result)

        def emit(producer: Producer) -> dict[str, int]:
            for record in records:
                produce(producer, record.topic, record.value, record.key, headers=record.headers)
            return batch_counts

        return emit


def run_worker(settings: WorkerSettings) -> Totals:
    """Load the watchlists, check the topics, then screen until stopped (WatchlistError, BrokerError)."""
    # fail closed: before any consumer exists
    automaton = load_automaton(settings.watchlists or None, fuzzy=settings.fuzzy)
    topics = settings.kafka.topics
    require_topics(new_client(AdminClient, admin_config(settings.kafka)), topics.all)
    loop = BatchLoop(settings, ScreeningTransform(automaton, topics), name="screener")
    return loop.run()
