"""The screening worker (``txscreen run``): the shared batch loop with screening as its transform.

Per batch: the values go through :func:`matchers.screening.screen_batch` in one call, and the
shared output step (:mod:`streams.outputs`) turns the result into one record per input, to the
topic of its verdict (cleared → original bytes, blocked → blocked record, malformed → dead letter
whose ``source`` is ``{"topic", "partition", "offset"}``), with its key, its own headers and the
three txscreen headers; this module only produces them (:mod:`streams.kafka.backpressure`). The loop
(:mod:`streams.worker.batch_loop`) commits the batch's offsets with that output.

Allowlist: approved entries from the allowlist topic (:mod:`streams.allowlist`, followed on a
background thread, read to its end before the first batch) clear a blocked event whose every hit
they cover (:mod:`matchers.allowlist`); its cleared record carries ``txscreen-allowlisted``.

Live lists: with ``--watchlist-topic`` the worker follows the published list versions
(:mod:`streams.watchlists.follower`): each new version is built on the follower's thread and swapped in
between two batches, with the allowlist's entity hashes, so every output carries the version that
screened it.

Fail closed: the watchlists are loaded (or, with ``--watchlist-topic``, the first version is built), and the
topics checked, before any Kafka consumer exists; a list that does not load stops the worker with
nothing consumed, and with an empty watchlist topic the worker waits without consuming. With
``--metrics-listen`` the metrics listener starts first, so ``/readyz`` says "not ready" while the lists load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from matchers.allowlist import apply_allowlist, entity_hashes, parse_time
from matchers.automaton import NameAutomaton
from schemas.records import Verdict
from streams.allowlist import Allowlist
from streams.kafka.allowlist import AllowlistFollower
from streams.kafka.backpressure import produce_records
from streams.kafka.clients import MAX_OUTPUT_BYTES, admin_config, new_client
from streams.kafka.topics import require_topics
from streams.lists import load_automaton
from streams.metrics.observer import WorkerObserver
from streams.metrics.registry import WorkerMetrics
from streams.metrics.server import Health, ListenAddress, MetricsServer
from streams.outputs import KAFKA_MESSAGE, counts, output_records, screen_messages
from streams.settings import Topics, WorkerSettings
from streams.status import Totals
from streams.watchlists.follower import Swap, WatchlistFollower, wait_first_version
from streams.worker.batch_loop import BatchLoop, Emit

log = logging.getLogger(__name__)


class ScreeningTransform:
    """Screens a batch, then produces each input once, to the topic of its verdict."""

    kinds: Sequence[str] = tuple(v.count_name for v in Verdict)

    def __init__(
        self,
        automaton: NameAutomaton,
        topics: Topics,
        allowlist: AllowlistFollower | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self._current = (automaton, entity_hashes(automaton.watchlists))
        self.destinations = topics.by_verdict()
        self.allowlist = allowlist
        self.metrics = metrics

    @property
    def automaton(self) -> NameAutomaton:
        """The list version the next batch is screened with."""
        return self._current[0]

    def swap(self, automaton: NameAutomaton, _swap: object = None) -> None:
        """Screen the next batch with ``automaton`` (a new list version; the batch in hand keeps its own).

        The allowlist's entity hashes change with it, in one assignment, so that an entry approved against
        an entity that the new version changed is void from the first batch the new version screens.
        """
        self._current = (automaton, entity_hashes(automaton.watchlists))

    def __call__(self, messages: list[Message]) -> Emit:
        """Screen the batch (one ``screen_batch`` call); the returned step produces its outputs."""
        automaton, hashes = self._current  # read once: one batch (one transaction) is screened by one version
        started = time.perf_counter()
        result = screen_messages(messages, KAFKA_MESSAGE, automaton, max_output_bytes=MAX_OUTPUT_BYTES)
        if self.metrics is not None:
            self.metrics.screen_seconds.observe(time.perf_counter() - started)
        allowed: dict[int, list[str]] = {}
        if self.allowlist is not None and result.hits:
            self.allowlist.check()
            self.allowlist.allowlist.hashes = hashes  # entries are judged against the version that screened
            active = self.allowlist.allowlist.active(parse_time(result.screened_at))  # the batch's clock
            result, allowed = apply_allowlist(result, [m.value() for m in messages], active)
        records = output_records(messages, KAFKA_MESSAGE, result, self.destinations, allowlisted=allowed)
        batch_counts = counts(result)
        batch_counts.allowlisted(len(allowed))

        def emit(producer: Producer) -> dict[str, int]:
            produce_records(producer, records)
            return batch_counts

        return emit


def run_worker(settings: WorkerSettings, metrics_listen: ListenAddress | None = None) -> Totals:
    """Load the watchlists (or wait for the first version of ``--watchlist-topic``), check the topics, then
    screen until stopped (WatchlistError, BrokerError).

    With ``metrics_listen``, serve ``/metrics``, ``/healthz`` and ``/readyz`` there from the start.
    """
    metrics, health = WorkerMetrics(), Health()
    server = MetricsServer(metrics_listen, metrics.registry, health) if metrics_listen is not None else None
    try:
        return _run_worker(settings, metrics, health)
    finally:
        health.stopped()
        if server is not None:
            server.close()


def _run_worker(settings: WorkerSettings, metrics: WorkerMetrics, health: Health) -> Totals:
    topics = settings.kafka.topics
    lists: WatchlistFollower | None = None
    transform: ScreeningTransform | None = None

    def swap(automaton: NameAutomaton, swapped: Swap | None) -> None:
        if transform is not None:
            transform.swap(automaton)
            metrics.lists_loaded(automaton, swapped.published_at if swapped is not None else None)
            health.lists_loaded(automaton.version)

    if settings.watchlist_topic is None:
        # fail closed: the lists load before any consumer exists
        automaton: NameAutomaton | None = load_automaton(settings.watchlists or None, fuzzy=settings.fuzzy)
        require_topics(new_client(AdminClient, admin_config(settings.kafka)), topics.all)
    else:
        require_topics(new_client(AdminClient, admin_config(settings.kafka)), topics.all)
        lists = WatchlistFollower(
            settings.kafka, settings.watchlist_topic, on_swap=swap, fuzzy=settings.fuzzy
        ).start()
        metrics.follow_skipped_versions(lambda: lists.skipped_total if lists is not None else 0)
        automaton = wait_first_version(lists)  # fail closed: no consumer until a version is built
    try:
        if automaton is None:
            log.info("stopped while waiting for a watchlist version: nothing was consumed")
            return Totals(ScreeningTransform.kinds)
        allowlist = AllowlistFollower(settings.kafka, Allowlist(hashes=entity_hashes(automaton.watchlists)))
        allowlist.start()
        try:
            allowlist.wait_caught_up()  # the first batch sees every entry approved before the worker started
            transform = ScreeningTransform(automaton, topics, allowlist, metrics)
            published = lists.swaps[-1].published_at if lists is not None and lists.swaps else None
            metrics.lists_loaded(automaton, published)
            health.lists_loaded(automaton.version)
            if lists is not None and lists.current is not None and lists.current is not automaton:
                swap(lists.current, lists.swaps[-1])  # a version built between the wait and the line above
            loop = BatchLoop(settings, transform, name="screener", observer=WorkerObserver(metrics, health))
            return loop.run()
        finally:
            allowlist.stop()
    finally:
        if lists is not None:
            lists.close()
