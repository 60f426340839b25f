"""The pass-through copier (``txscreen copy``): the worker's loop with a transform that screens nothing.

Its copies are **unscreened**: the command requires ``--output-topic`` and refuses the cleared,
blocked and dead-letter topics (:func:`streams.cli.kafka.copy_destination`), and its start-up line
says "unscreened".

Each input is produced as it is (value, key, headers) to one output topic, with the same
consumer and producer settings, batches and transactions as ``txscreen run``. The benchmarks
compare the screening worker against it on the same broker: the difference is the cost of
screening.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from streams.kafka.backpressure import produce_records
from streams.kafka.clients import admin_config, new_client
from streams.kafka.topics import require_topics
from streams.settings import WorkerSettings
from streams.status import Totals
from streams.worker.batch_loop import BatchLoop, Emit

log = logging.getLogger(__name__)

COPIED = "copied"


class CopyTransform:
    """Produces every input unchanged to ``topic``."""

    kinds: Sequence[str] = (COPIED,)

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def __call__(self, messages: list[Message]) -> Emit:
        """Nothing to compute: the returned step produces the batch as it is."""
        topic = self.topic

        def emit(producer: Producer) -> dict[str, int]:
            produce_records(producer, ((topic, m.key(), m.value(), m.headers()) for m in messages))
            return {COPIED: len(messages)}

        return emit


def run_copier(settings: WorkerSettings, output_topic: str) -> Totals:
    """Copy the input topic to ``output_topic`` until stopped (BrokerError when a topic is missing)."""
    require_topics(
        new_client(AdminClient, admin_config(settings.kafka)), [settings.kafka.topics.input, output_topic]
    )
    log.info(
        "txscreen copy: UNSCREENED copies of %s go to %s (a benchmark baseline; nothing is screened)",
        settings.kafka.topics.input,
        output_topic,
    )
    return BatchLoop(settings, CopyTransform(output_topic), name="unscreened copier").run()
