"""Every Prometheus metric txscreen exports, declared here and nowhere else.

Names follow the Prometheus guide: ``txscreen_<noun>_<unit>``, ``_total`` for counters (the client
adds it), base units (seconds). Labels take values from small fixed sets — verdicts, reason classes
(:mod:`streams.metrics.reasons`), list ids, rules, partitions, case states — never an event id, an
entity id or a name.

Each process builds its own registry (:func:`new_registry`, with the standard ``process_*`` and
``python_*`` metrics) and the set it exports: :class:`WorkerMetrics` for ``txscreen run``,
:class:`ReviewMetrics` for the review service. Nothing is registered globally, so tests build as many
as they like.

==============================================  =========  ==================================================
metric                                          kind       what it measures
==============================================  =========  ==================================================
``txscreen_events_total{verdict}``              counter    events committed, by verdict: cleared, blocked,
                                                           dead-letter, allowlisted (workers), released
``txscreen_dead_letters_total{reason}``         counter    dead letters committed, by reason class
``txscreen_hits_total{list,rule}``              counter    hits in committed blocked records, by list and rule
``txscreen_batch_seconds``                      histogram  a batch from consumed to committed
``txscreen_screen_seconds``                     histogram  a batch in the screening core
``txscreen_transactions_total{outcome}``        counter    transactions committed / aborted
``txscreen_consumer_lag{topic,partition}``      gauge      records left to read, transaction markers excluded
``txscreen_watchlist_info{version}``            gauge      1 for the list version in use
``txscreen_watchlist_entities{list}``           gauge      entities per list
``txscreen_watchlist_loaded_timestamp_seconds`` gauge      when the lists in use were loaded (Unix time)
``txscreen_watchlist_published_timestamp_seconds`` gauge   when the version in use was published (Unix time;
                                                           only when following ``--watchlist-topic``)
``txscreen_review_cases{status}``               gauge      review cases, by status
``txscreen_review_oldest_open_case_seconds``    gauge      age of the oldest open or pending case (0: none)
``txscreen_allowlist_entries{state}``           gauge      allowlist entries, by state
==============================================  =========  ==================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from matchers.automaton import NameAutomaton
from matchers.watchlist import Watchlist
from schemas.records import Verdict
from streams.metrics.reasons import REASON_CLASSES

#: The verdict labels of ``txscreen_events_total``: the worker's three, then the review service's.
RELEASED: Final = "released"
ALLOWLISTED: Final = "allowlisted"
WORKER_VERDICTS: Final = (*(v.value for v in Verdict), ALLOWLISTED)
#: Transaction outcomes.
COMMITTED: Final = "committed"
ABORTED: Final = "aborted"
#: Batches take from a millisecond (a few events) to seconds (5,000 events, a slow broker).
BATCH_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def new_registry() -> CollectorRegistry:
    """An empty registry holding the standard process, platform and garbage-collector metrics."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def _events(registry: CollectorRegistry) -> Counter:
    return Counter(
        "txscreen_events",
        "Events whose output was committed, by verdict (released: by the review service).",
        ["verdict"],
        registry=registry,
    )


def published_seconds(published_at: str | None) -> float | None:
    """A manifest's RFC 3339 publish time as Unix time (None when absent or not a time)."""
    if not published_at:
        return None
    try:
        return datetime.fromisoformat(published_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class WatchlistGauges:
    """The ``txscreen_watchlist_*`` gauges of the lists in use: the worker's and the review service's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.info = Gauge(
            "txscreen_watchlist_info", "1 for the watchlist version in use.", ["version"], registry=r
        )
        self.entities = Gauge(
            "txscreen_watchlist_entities", "Entities per loaded list.", ["list"], registry=r
        )
        self.loaded = Gauge(
            "txscreen_watchlist_loaded_timestamp_seconds",
            "When the watchlists in use were loaded (Unix time).",
            registry=r,
        )
        self._registry = r
        self.published: Gauge | None = None  # registered with the first version that has a publish time

    def set(
        self,
        version: str,
        watchlists: Iterable[Watchlist],
        loaded_at: float,
        published_at: str | None = None,
    ) -> None:
        """The lists in use: ``version`` of ``watchlists``, loaded at ``loaded_at``, published at
        ``published_at`` (a manifest's RFC 3339 time, when followed from the watchlist topic)."""
        self.info.clear()
        self.info.labels(version).set(1)
        self.entities.clear()
        for watchlist in watchlists:
            self.entities.labels(watchlist.list_id).set(len(watchlist.entities))
        self.loaded.set(loaded_at)
        published = published_seconds(published_at)
        if published is not None:
            if self.published is None:
                self.published = Gauge(
                    "txscreen_watchlist_published_timestamp_seconds",
                    "When the watchlist version in use was published to the watchlist topic (Unix time).",
                    registry=self._registry,
                )
            self.published.set(published)


class WorkerMetrics:
    """The metrics of a screening worker (``txscreen run``, either engine)."""

    def __init__(
        self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry if registry is not None else new_registry()
        self._clock = clock
        r = self.registry
        self.events = _events(r)
        self.dead_letters = Counter(
            "txscreen_dead_letters", "Dead letters committed, by reason class.", ["reason"], registry=r
        )
        self.hits = Counter(
            "txscreen_hits",
            "Hits in committed blocked records, by list and rule.",
            ["list", "rule"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "txscreen_batch_seconds",
            "Seconds from a batch consumed to its output committed.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.screen_seconds = Histogram(
            "txscreen_screen_seconds",
            "Seconds a batch spends in the screening core.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.transactions = Counter(
            "txscreen_transactions", "Kafka transactions, by outcome.", ["outcome"], registry=r
        )
        self.lag = Gauge(
            "txscreen_consumer_lag",
            "Records between the consumer's position and the end of the partition (transaction markers "
            "excluded).",
            ["topic", "partition"],
            registry=r,
        )
        self.watchlist = WatchlistGauges(r)
        self.watchlist_info = self.watchlist.info
        self.watchlist_entities = self.watchlist.entities
        for verdict in WORKER_VERDICTS:
            self.events.labels(verdict)
        for reason in REASON_CLASSES:
            self.dead_letters.labels(reason)
        for outcome in (COMMITTED, ABORTED):
            self.transactions.labels(outcome)

    def follow_skipped_versions(self, skipped: Callable[[], int]) -> None:
        """Export how many published list versions the worker skipped because they did not build."""
        gauge = Gauge(
            "txscreen_watchlist_skipped_versions",
            "Published watchlist versions skipped because they did not build (the last good one is kept).",
            registry=self.registry,
        )
        gauge.set_function(lambda: float(skipped()))

    def lists_loaded(self, automaton: NameAutomaton, published_at: str | None = None) -> None:
        """The lists in use are ``automaton``'s, loaded now (a new version replaces the old one), published
        at ``published_at`` when they came from the watchlist topic."""
        self.watchlist.set(automaton.version, automaton.watchlists, self._clock(), published_at)

    def committed(
        self, counts: Mapping[str, int], *, transaction: bool, seconds: float | None = None
    ) -> None:
        """Count a batch whose output was committed (``counts``: :class:`streams.outputs.Counts`)."""
        for verdict, n in getattr(counts, "verdicts", {}).items():
            if n:
                self.events.labels(verdict).inc(n)
        for reason, n in getattr(counts, "dead_letters", {}).items():
            self.dead_letters.labels(reason).inc(n)
        for (list_id, rule), n in getattr(counts, "hits", {}).items():
            self.hits.labels(list_id, rule).inc(n)
        if transaction:
            self.transactions.labels(COMMITTED).inc()
        if seconds is not None:
            self.batch_seconds.observe(seconds)

    def aborted(self) -> None:
        """Count a transaction aborted (its batch is consumed again)."""
        self.transactions.labels(ABORTED).inc()

    def set_lag(self, lags: Iterable[tuple[str, int, int]]) -> None:
        """The lag of each assigned partition (``topic, partition, lag``); others are dropped."""
        self.lag.clear()
        for topic, partition, lag in lags:
            self.lag.labels(topic, str(partition)).set(lag)


#: Review case states and allowlist entry states, as the review service names them.
CASE_STATES: Final = ("open", "pending", "released", "confirmed")
ENTRY_STATES: Final = ("pending", "active", "void", "revoked")


class ReviewMetrics:
    """The metrics of the review service: its gauges, read from its state at each scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        r = self.registry
        self.events = _events(r)
        self.events.labels(RELEASED)
        self.cases = Gauge("txscreen_review_cases", "Review cases, by status.", ["status"], registry=r)
        self.oldest_open = Gauge(
            "txscreen_review_oldest_open_case_seconds",
            "Age of the oldest open or pending case, in seconds (0 when none is open).",
            registry=r,
        )
        self.allowlist = Gauge(
            "txscreen_allowlist_entries", "Allowlist entries, by state.", ["state"], registry=r
        )
        self.watchlist = WatchlistGauges(r)

    def set_state(
        self, cases: Mapping[str, int], oldest_open_seconds: float, entries: Mapping[str, int]
    ) -> None:
        """The gauges from the service's state: cases and entries per state, the oldest open case's age."""
        for status in (*CASE_STATES, *(s for s in cases if s not in CASE_STATES)):
            self.cases.labels(status).set(cases.get(status, 0))
        self.oldest_open.set(max(oldest_open_seconds, 0.0))
        for state in (*ENTRY_STATES, *(s for s in entries if s not in ENTRY_STATES)):
            self.allowlist.labels(state).set(entries.get(state, 0))

    def released(self, n: int = 1) -> None:
        """Count released events (their release was committed)."""
        self.events.labels(RELEASED).inc(n)
