"""The Faust engine: screening as a Faust agent, for teams that already run Faust (faust-streaming).

The agent reads the input topic as raw bytes, takes the events in batches
(``stream.noack_take(max_batch, within=batch_timeout)``), screens a whole batch with one
:func:`matchers.screening.screen_batch` call and sends the records of the shared output step
(:mod:`streams.outputs`), one per input to the topic of its verdict, as the confluent-kafka worker
does: cleared → the original bytes, blocked → the blocked record, malformed → a dead letter whose
``source`` is ``{"topic", "partition", "offset"}``; each with the input's key, the input's headers
(its own ``txscreen-*`` ones dropped, counted and logged once per batch) and the txscreen headers
(:mod:`streams.headers`).

Delivery is **at-least-once**, and offsets follow outputs:

1. the batch's outputs are sent and *every* send future is awaited (acks=all), then
2. the batch's events are acked (``stream.ack``), in order, and only then
3. the agent has Faust's consumer commit the acked offsets (``consumer.commit()``, which flushes the
   producer first); Faust also commits them every ``broker_commit_interval`` (2.8 s), on a
   rebalance (after waiting for the events in hand to be acked) and at a clean stop.

A crash (kill -9) therefore repeats at most the batch in hand, as the worker's at-least-once mode.
``noack_take`` rather than ``take_events``: both batch the same way, but ``take_events`` acks a
batch in a ``finally`` block, which also runs when the batch *failed* (the generator is closed on
the way out), so a clean stop after a failed send would commit the offsets of outputs never
written. With ``noack_take`` nothing is acked but what was delivered. A batch whose outputs cannot
all be delivered stops the process at once with status 2 and commits nothing more: a graceful
Faust stop would wait for that batch's acks forever, and Faust's commit does not always stop at an
unacked offset (its gap check lets one unacked offset through, and is skipped before the first
commit), so no later batch may be acked. The next worker screens the batch again. Faust's own
exactly-once mode is not used: it has open duplicate and fencing bugs upstream.

Fail closed: the watchlists are loaded and the four topics checked before the app exists; the app
creates no topic of its own (no leader topic, no tables, ``topic_allow_declare=False``) because
the brokers it is meant for do not create topics automatically.

:func:`install_screening` adds the agent and the web view to any Faust app;
:func:`create_app` builds the standalone app; :func:`run_faust` runs it (``txscreen run --engine
faust``). The Faust CLI entry point (``faust -A streams.faust.main worker``) is in
:mod:`streams.faust.main`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, cast

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from faust.streams import Stream
from faust.types import EventT, Message, StreamT, TransportT
from faust.types.enums import ProcessingGuarantee
from faust.web import Request, Response, View

from matchers.allowlist import apply_allowlist, entity_hashes, parse_time
from matchers.automaton import NameAutomaton
from matchers.screening import BatchResult
from schemas.errors import BrokerError, ConfigError
from streams import outputs
from streams.allowlist import Allowlist
from streams.faust.config import (
    DEFAULT_WEB_HOST,
    DEFAULT_WEB_PORT,
    ClientSecurity,
    app_options,
    client_security,
)
from streams.faust.live_counts import LiveCounts, list_summary, render_html
from streams.faust.transport import ReadCommittedTransport
from streams.kafka.allowlist import AllowlistFollower
from streams.kafka.clients import MAX_OUTPUT_BYTES, admin_config, new_client
from streams.kafka.topics import ADMIN_TIMEOUT, require_topics
from streams.lists import load_automaton
from streams.metrics.registry import WorkerMetrics
from streams.metrics.server import Health, ListenAddress, MetricsServer
from streams.outputs import (
    FAUST_MESSAGE,
    Counts,
    OutputRecord,
    faust_source,
    output_records,
    screen_messages,
)
from streams.settings import Guarantee, KafkaSettings, Topics, WorkerSettings
from streams.status import StatusLine
from streams.watchlists.follower import Swap, WatchlistFollower, wait_first_version

log = logging.getLogger(__name__)

STATUS_PATH: Final = "/txscreen/status/"
PAGE_PATH: Final = "/txscreen/"
#: Exit status when a batch's outputs cannot be delivered (as ``txscreen run`` for a fatal Kafka error).
EXIT_UNDELIVERED: Final = 2
#: How often the standalone app checks --until-idle.
IDLE_CHECK_SECONDS: Final = 0.5


def where(message: Message) -> str:
    """``topic[partition]@offset`` of a consumed message."""
    return outputs.where(faust_source(message))


def span(messages: Sequence[Message]) -> str:
    """The offsets a batch covers, per partition: ``payments[0]@10..59, payments[3]@7..80``."""
    return outputs.span(map(faust_source, messages))


class BatchScreener:
    """Screens one batch of consumed messages and delivers its outputs; acking is the caller's."""

    def __init__(
        self,
        app: faust.App,
        automaton: NameAutomaton,
        topics: Topics,
        allowlist: Allowlist | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.app = app
        self._current = (automaton, entity_hashes(automaton.watchlists))
        self.destinations = topics.by_verdict()
        self.allowlist = allowlist
        self.metrics = metrics
        self.allowlisted = 0
        """How many events of the last batch the allowlist cleared (the metrics count them apart)."""

    @property
    def automaton(self) -> NameAutomaton:
        """The list version the next batch is screened with."""
        return self._current[0]

    def swap(self, automaton: NameAutomaton) -> None:
        """Screen the next batch with ``automaton``, and judge allowlist entries by its entity hashes."""
        self._current = (automaton, entity_hashes(automaton.watchlists))

    def screen(self, messages: Sequence[Message]) -> tuple[BatchResult, list[OutputRecord]]:
        """The verdicts, and each input's output record (one ``screen_batch`` call, one list version).

        The allowlist is applied after screening, judged against the same version's entity hashes.
        """
        automaton, hashes = self._current  # read once: a version swapped in meanwhile takes the next batch
        started = time.perf_counter()
        result = screen_messages(messages, FAUST_MESSAGE, automaton, max_output_bytes=MAX_OUTPUT_BYTES)
        if self.metrics is not None:
            self.metrics.screen_seconds.observe(time.perf_counter() - started)
        allowed: dict[int, list[str]] = {}
        if self.allowlist is not None and result.hits:
            self.allowlist.hashes = hashes
            active = self.allowlist.active(parse_time(result.screened_at))
            result, allowed = apply_allowlist(result, [m.value for m in messages], active)
        self.allowlisted = len(allowed)
        return result, output_records(messages, FAUST_MESSAGE, result, self.destinations, allowlisted=allowed)

    async def deliver(self, records: Sequence[OutputRecord]) -> None:
        """Send each record; returns when the broker acknowledged them all (aiokafka waits for room)."""
        send = self.app.producer.send
        pending = [await send(r.topic, r.key, r.value, None, None, cast(Any, r.headers)) for r in records]
        await asyncio.gather(*pending)

    async def __call__(self, messages: Sequence[Message]) -> BatchResult:
        """Screen the batch and deliver its outputs."""
        result, records = self.screen(messages)
        await self.deliver(records)
        return result


def fail_stop(messages: Sequence[Message], exc: BaseException) -> NoReturn:
    """Leave at once, committing nothing more: the batch's outputs were not all delivered."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    log.critical(
        "could not deliver the outputs of %s (%s); stopping without committing them "
        "(the next worker screens them again)",
        span(messages),
        reason,
    )
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_UNDELIVERED)


@dataclass
class Screening:
    """What :func:`install_screening` added to an app: the agent and its live counts."""

    agent: Any
    counts: LiveCounts
    status: StatusLine
    screener: BatchScreener
    metrics: WorkerMetrics | None = None
    health: Health | None = None

    def swap(self, automaton: NameAutomaton, swapped: Swap | None = None) -> None:
        """Screen the next batch with ``automaton`` (a new list version from ``--watchlist-topic``)."""
        self.screener.swap(automaton)
        self.counts.watchlist_version = automaton.version
        if self.metrics is not None:
            self.metrics.lists_loaded(automaton, swapped.published_at if swapped is not None else None)
        if self.health is not None:
            self.health.lists_loaded(automaton.version)


def install_screening(
    app: faust.App,
    automaton: NameAutomaton,
    topics: Topics,
    *,
    max_batch: int = 5000,
    batch_timeout: float = 0.2,
    status_interval: float = 10.0,
    commit_each_batch: bool = True,
    labels: dict[str, Any] | None = None,
    allowlist: Allowlist | None = None,
    metrics: WorkerMetrics | None = None,
    health: Health | None = None,
) -> Screening:
    """Add the screening agent, its status line and its web view to ``app`` (at-least-once apps only).

    The input topic is read as raw bytes whatever the app's serializers; outputs are produced as
    raw bytes too. ``app`` must not run Faust transactions (the outputs would bypass them). With
    ``commit_each_batch`` the acked offsets are committed after every batch rather than only every
    ``broker_commit_interval``, so a crash repeats the batch in hand rather than seconds of them.
    """
    if app.conf.processing_guarantee is not ProcessingGuarantee.AT_LEAST_ONCE:
        raise ConfigError("the screening agent runs in at-least-once apps only (processing_guarantee).")
    counts = LiveCounts(
        automaton.version,
        list_summary(automaton.watchlists),
        labels={"engine": "faust", "guarantee": Guarantee.AT_LEAST_ONCE.value, **(labels or {})},
    )
    status = StatusLine(counts.totals, status_interval)
    screener = BatchScreener(app, automaton, topics, allowlist, metrics)
    channel = app.topic(
        topics.input,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,  # an empty value is a dead letter, not a skipped record
    )

    async def screen(agent_stream: StreamT[bytes]) -> None:
        stream = cast(Stream[bytes], agent_stream)  # noack_take is not declared on StreamT
        async for taken in stream.noack_take(max_batch, within=batch_timeout):
            events = cast(Sequence[EventT], taken)  # noack_take yields the events, not their values
            messages = [event.message for event in events]
            counts.batch_started()
            consumed_at = time.monotonic()
            try:
                result = await screener(messages)
            except Exception as exc:  # any failure: nothing of this batch may be committed
                fail_stop(messages, exc)
            for event in events:
                await stream.ack(event)
            counts.record(result)
            if commit_each_batch:
                await app.consumer.commit()  # as the worker's at-least-once mode: one batch at most repeats
            if metrics is not None:
                batch = Counts(result)
                batch.allowlisted(screener.allowlisted)
                metrics.committed(batch, transaction=False, seconds=time.monotonic() - consumed_at)

    agent = app.agent(channel, name="txscreen.screen")(screen)

    async def status_page(_view: View, _request: Request) -> Response:
        return _view.json(counts.snapshot())

    async def html_page(_view: View, _request: Request) -> Response:
        return _view.html(render_html(counts.snapshot(), json_path="status/"))

    app.page(STATUS_PATH)(status_page)
    app.page(PAGE_PATH)(html_page)
    if metrics is not None and health is not None:
        _observe(app, metrics, health)

    if status_interval > 0:

        async def status_line() -> None:
            log.info("%s", status.line(await _lag(app)))

        app.timer(status_interval, on_leader=False)(status_line)
    return Screening(agent, counts, status, screener, metrics, health)


def _observe(app: faust.App, metrics: WorkerMetrics, health: Health) -> None:
    """Keep ``/readyz`` told of the assigned partitions, and the lag gauge read every second."""

    async def assignment_changed(*_args: Any, **_kwargs: Any) -> None:
        health.assigned(len(app.consumer.assignment()))

    app.on_partitions_assigned.connect(assignment_changed)
    app.on_partitions_revoked.connect(assignment_changed)

    async def read_lag() -> None:
        lags: list[tuple[str, int, int]] = []
        try:
            consumer = app.consumer
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                position = await consumer.position(tp)
                if high is not None and position is not None and position >= 0:
                    lags.append((tp.topic, tp.partition, max(high - position, 0)))
        except Exception:  # best effort: a gauge never stops the worker
            return
        metrics.set_lag(lags)

    app.timer(1.0, on_leader=False)(read_lag)


async def _lag(app: faust.App) -> int | None:
    """Messages between the consumer's positions and the partitions' ends, or None if unknown."""
    try:
        consumer = app.consumer
        lag = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = await consumer.position(tp)
            if high is not None and position is not None:
                lag += max(high - position, 0)
    except Exception:  # best effort: a status line never stops the worker
        return None
    return lag


class ScreeningApp(faust.App):
    """A Faust app whose consumer reads ``read_committed`` (:mod:`streams.faust.transport`)."""

    screening: Screening | None = None
    """The screening agent and its counts, once :func:`create_app` installed them."""

    def _new_transport(self) -> TransportT:
        return ReadCommittedTransport(self.conf.broker_consumer, self, loop=self.loop)


def input_partitions(kafka: KafkaSettings) -> int:
    """Check that the four topics exist (BrokerError naming the missing one); the input's partitions."""
    admin = new_client(AdminClient, admin_config(kafka))
    require_topics(admin, kafka.topics.all)
    name = kafka.topics.input
    try:
        metadata = admin.list_topics(name, timeout=ADMIN_TIMEOUT)
    except KafkaException as exc:
        raise BrokerError(f"the Kafka cluster did not describe topic {name}.", topic=name) from exc
    return len(metadata.topics[name].partitions)


def _credentials(security: ClientSecurity) -> dict[str, Any]:
    """The Faust settings that reach a secured cluster (none for PLAINTEXT)."""
    if security.protocol == "PLAINTEXT":
        return {}
    from aiokafka.helpers import create_ssl_context

    context = None
    if security.uses_ssl:
        context = create_ssl_context(
            cafile=security.ca_file,
            certfile=security.cert_file,
            keyfile=security.key_file,
            password=security.key_password,
        )
    if security.uses_sasl:
        return {
            "broker_credentials": faust.SASLCredentials(
                username=security.username,
                password=security.password,
                mechanism=security.mechanism,
                ssl_context=context,
            )
        }
    return {"broker_credentials": faust.SSLCredentials(context)}


def _stop_when_done(app: faust.App, screening: Screening, settings: WorkerSettings) -> None:
    """--until-idle and --max-events: stop the worker as SIGTERM does (let the last batches commit)."""
    until_idle, max_events = settings.until_idle, settings.max_events
    if until_idle is None and max_events is None:
        return
    counts = screening.counts
    assigned_at: list[float] = []
    stopping: list[bool] = []

    async def on_assigned(*_args: Any, **_kwargs: Any) -> None:
        if not assigned_at:
            assigned_at.append(time.monotonic())

    app.on_partitions_assigned.connect(on_assigned)

    async def check() -> None:
        if stopping or not assigned_at:
            return
        last_input = max(assigned_at[0], counts.totals.last_batch_at or 0.0)
        idle = until_idle is not None and time.monotonic() - last_input >= until_idle
        enough = max_events is not None and counts.screened >= max_events
        if idle or enough:
            stopping.append(True)
            log.info("stopping: %s", f"idle for {until_idle} s" if idle else f"{counts.screened:,} events")
            os.kill(os.getpid(), signal.SIGTERM)

    app.timer(IDLE_CHECK_SECONDS, on_leader=False)(check)


def create_app(
    settings: WorkerSettings,
    *,
    automaton: NameAutomaton | None = None,
    web_port: int = DEFAULT_WEB_PORT,
    web_host: str = "localhost",
    web_bind: str = DEFAULT_WEB_HOST,
    datadir: Path | None = None,
    allowlist: Allowlist | None = None,
    metrics: WorkerMetrics | None = None,
    health: Health | None = None,
    follower: WatchlistFollower | None = None,
) -> ScreeningApp:
    """The standalone screening app (id = the group id), lists loaded and topics checked first.

    Raises WatchlistError when a list does not load and BrokerError when a topic is missing or the
    cluster does not answer: the app never exists without its lists (fail closed).
    """
    security = client_security(settings.kafka.client_options)
    options = app_options(
        settings,
        input_partitions=1,
        web_port=web_port,
        web_host=web_host,
        web_bind=web_bind,
        datadir=datadir,
    )  # validates the raw options before anything loads
    if automaton is None and settings.watchlist_topic is not None:
        follower = (
            follower
            or WatchlistFollower(settings.kafka, settings.watchlist_topic, fuzzy=settings.fuzzy).start()
        )
        automaton = follower.wait_ready()  # fail closed: no app until a version is built
    if automaton is None:
        automaton = load_automaton(settings.watchlists or None, fuzzy=settings.fuzzy)
    options["topic_partitions"] = input_partitions(settings.kafka)
    Path(options["datadir"]).mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = ScreeningApp(settings.group_id, **options, **_credentials(security))
    topics = settings.kafka.topics
    screening = install_screening(
        app,
        automaton,
        topics,
        max_batch=settings.max_batch,
        batch_timeout=settings.batch_timeout,
        status_interval=settings.status_interval,
        labels={"group_id": settings.group_id, "input_topic": topics.input, "outputs": list(topics.outputs)},
        allowlist=allowlist,
        metrics=metrics,
        health=health,
    )
    _stop_when_done(app, screening, settings)

    async def summary(*_args: Any, **_kwargs: Any) -> None:
        log.info("%s", screening.status.summary())

    app.on_before_shutdown.connect(summary)
    app.screening = screening
    if follower is not None:  # later versions are swapped in between two batches
        follower.on_swap = screening.swap
        if follower.current is not None and follower.current is not automaton:
            screening.swap(
                follower.current, follower.swaps[-1] if follower.swaps else None
            )  # built while the app was being created
    log.info(
        "faust engine: group %s, %s → %s, at-least-once, security %s, web view on %s:%d",
        settings.group_id,
        topics.input,
        ", ".join(topics.outputs),
        security.describe(),
        web_bind,
        web_port,
    )
    return app


def run_faust(
    settings: WorkerSettings,
    *,
    web_port: int = DEFAULT_WEB_PORT,
    web_host: str = "localhost",
    web_bind: str = DEFAULT_WEB_HOST,
    metrics_listen: ListenAddress | None = None,
) -> int:
    """Load the lists, check the topics, then screen until stopped; the exit status (0 after a clean stop).

    Raises WatchlistError, BrokerError or ConfigError before anything is consumed. With
    ``metrics_listen``, ``/metrics``, ``/healthz`` and ``/readyz`` are served there from the start.
    """
    if settings.guarantee is not Guarantee.AT_LEAST_ONCE:
        log.info("the Faust engine is at-least-once (--guarantee applies to the confluent-kafka engine)")
    metrics, health = WorkerMetrics(), Health()
    server = MetricsServer(metrics_listen, metrics.registry, health) if metrics_listen is not None else None
    try:
        return _run_faust(settings, metrics, health, web_port=web_port, web_host=web_host, web_bind=web_bind)
    finally:
        health.stopped()
        if server is not None:
            server.close()


def _run_faust(
    settings: WorkerSettings,
    metrics: WorkerMetrics,
    health: Health,
    *,
    web_port: int,
    web_host: str,
    web_bind: str,
) -> int:
    lists: WatchlistFollower | None = None
    if settings.watchlist_topic is None:
        # fail closed: the lists load before any Kafka client exists
        automaton = load_automaton(settings.watchlists or None, fuzzy=settings.fuzzy)
    else:
        lists = WatchlistFollower(settings.kafka, settings.watchlist_topic, fuzzy=settings.fuzzy).start()
        metrics.follow_skipped_versions(lambda: lists.skipped_total if lists is not None else 0)
        first = wait_first_version(lists)  # fail closed: the app is not created until a version is built
        if first is None:
            lists.close()
            return 0
        automaton = first
    allowlist = Allowlist(hashes=entity_hashes(automaton.watchlists))
    allow_follower = AllowlistFollower(settings.kafka, allowlist)
    allow_follower.start()
    allow_follower.wait_caught_up()  # the first batch sees every entry approved before the engine started
    metrics.lists_loaded(
        automaton, lists.swaps[-1].published_at if lists is not None and lists.swaps else None
    )
    health.lists_loaded(automaton.version)
    with tempfile.TemporaryDirectory(prefix="txscreen-faust-") as datadir:  # Faust's (empty) data dir
        app = create_app(
            settings,
            automaton=automaton,
            web_port=web_port,
            web_host=web_host,
            web_bind=web_bind,
            datadir=Path(datadir),
            allowlist=allowlist,
            metrics=metrics,
            health=health,
            follower=lists,
        )
        # Logging stays as the caller configured it; no banner, stdout left alone.
        worker = faust.Worker(app, quiet=True, redirect_stdouts=False, override_logging=False)
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
        finally:
            allow_follower.stop()
            if lists is not None:
                lists.close()
    return 0
