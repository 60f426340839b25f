"""The consume → transform → produce loop shared by the screening worker and the copier.

A transform has two steps. ``transform(messages)`` does the CPU work of a whole batch (screening;
nothing for the copier) and returns an *emit* step; ``emit(producer)`` makes exactly one
``produce`` call per output. The loop commits the offsets after the batch *with* that output:

* **exactly-once** (default): ``begin_transaction`` → emit → ``send_offsets_to_transaction`` (the
  positions after the batch, with the consumer's group metadata: KIP-447) → ``commit_transaction``.
  The input is read ``read_committed``, offsets are never committed or stored automatically. A
  read_committed reader of the outputs sees each input exactly once. The commit runs on a helper
  thread while the main thread consumes and transforms the next batch (the GIL is free while
  librdkafka waits for the broker); the next batch is emitted only once that commit succeeded, so
  there is never more than one transaction, and the order of commits is the order of batches.
* **batches**: with ``--latency throughput`` (the default) a batch fills until ``--batch-timeout``
  after the previous batch was consumed, or until ``--max-batch`` events: below the maximum rate at
  most one transaction per batch timeout, while the screening of one batch overlaps the filling of
  the next; when that time is already up (a quiet spell), a batch is what has arrived, so a lone
  event does not wait for a batch to fill. With ``--latency low`` a batch is always what has arrived
  (waiting only for the first event). Under both, once the commit in flight is done, the batch is
  topped up with what came meanwhile.
* **at-least-once**: emit → ``flush`` → synchronous ``commit`` of the offsets. A crash between the
  flush and the commit repeats the batch.

Rebalances: ``on_revoke`` and ``on_lost`` first wait for the commit in flight to finish (or fail
and be aborted) before the partitions go; ``on_assign`` only records the partitions (consumption
starts at the committed offsets). No transaction is ever *open* while ``consume`` runs.

Errors, by kind:

=====================================  =============================================================
error                                  what the loop does
=====================================  =============================================================
retriable (timeouts, coordinator       the same call again, with back-off, until it succeeds (a
moving, broker restarting)             second SIGTERM/SIGINT gives up)
abortable (``txn_requires_abort``)     abort the transaction, seek the partitions back to the last
                                       committed offsets (where the failed batch began) and consume
                                       them again; a batch consumed meanwhile is dropped
fenced (``_FENCED``,                   BrokerError: another worker took over; stop, exit non-zero
``PRODUCER_FENCED``,
``FENCED_INSTANCE_ID``)
fatal, or anything else                BrokerError with the reason; stop, exit non-zero
delivery failure (at-least-once)       seek back and produce the batch again (duplicates allowed)
offset commit refused (at-least-once,  logged; the batch may be processed again by the next owner
group rebalanced)
no error, but nothing fetched while    seek the partitions to their positions (restarts the fetch);
events wait (idle, no open             still nothing after GIVE_UP_AFTER: BrokerError, exit non-zero
transaction: ``streams.worker.stall``)
=====================================  =============================================================

SIGTERM/SIGINT let the batch in hand commit, then the worker closes: the consumer leaves the group
and nothing stays open. SIGUSR1 prints the stack of every thread on stderr (for a worker that
seems stuck). Every log line about a message names ``topic[partition]@offset``.
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from schemas.errors import BrokerError, ClientStuckError
from streams import outputs
from streams.kafka.clients import (
    CLIENT_ERRORS,
    consumer_config,
    is_fatal,
    new_client,
    producer_config,
    transactional_id,
)
from streams.metrics.observer import LoopObserver
from streams.outputs import kafka_source
from streams.settings import Latency, WorkerSettings
from streams.status import StatusLine, Totals
from streams.worker.stall import FetchStallWatch
from streams.worker.timings import LoopTimings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds each transactional call may block before it is retried (a broker restart may take longer).
CALL_TIMEOUT = 15.0
#: Seconds a worker waits at start for the transaction coordinator before it gives up.
START_TIMEOUT = 120.0
#: A librdkafka call still blocked this long after its own timeout is stuck (librdkafka issues #5456 and
#: #5511: send_offsets_to_transaction can hang past its timeout when the group coordinator's broker
#: handle is decommissioned during a broker restart). The worker then exits so that a restart resumes.
STUCK_AFTER = CALL_TIMEOUT + 15.0
#: The GIL switch interval while a loop runs (Python's default is 5 ms). The commit thread needs the GIL
#: now and then: between its librdkafka calls, and inside the commit's flush, where confluent-kafka's
#: delivery-report trampoline takes the GIL for every delivered record (it skips the Python callback of a
#: success, not the GIL). Each time, a main thread busy screening kept it waiting for up to the interval:
#: several times a commit (once per produce request answered). Only a thread waiting for the GIL makes the
#: main thread switch, so a shorter interval costs nothing while the commit thread is idle.
SWITCH_INTERVAL = 0.0005
_FENCED_CODES = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.FENCED_INSTANCE_ID})
_CONNECTION_ERRORS = frozenset({KafkaError._TRANSPORT, KafkaError._RESOLVE})

#: Produces one batch's outputs (one ``produce`` call each) and counts them per kind of output.
Emit = Callable[[Producer], Mapping[str, int]]


class Transform(Protocol):
    """The CPU work of a batch, returning the step that produces its outputs."""

    kinds: Sequence[str]
    """The output kinds it counts, in the order the status line shows them."""

    def __call__(self, messages: list[Message]) -> Emit: ...


def where(message: Message) -> str:
    """``topic[partition]@offset`` of a consumed message."""
    return outputs.where(kafka_source(message))


def span(messages: Sequence[Message]) -> str:
    """The offsets a batch covers, per partition: ``payments[0]@10..59, payments[3]@7..80``."""
    return outputs.span(map(kafka_source, messages))


def offsets_after(messages: Sequence[Message]) -> list[TopicPartition]:
    """The positions after a batch (last offset + 1 per partition): what is committed with its output."""
    topic = messages[0].topic() or ""
    last: dict[Any, Any] = {m.partition(): m.offset() for m in messages}
    return [TopicPartition(topic, partition, offset + 1) for partition, offset in last.items()]


def first_offsets(*batches: Sequence[Message]) -> dict[int, int]:
    """Per partition, the first offset in the earliest of ``batches`` that holds it (where to rewind)."""
    first: dict[int, int] = {}
    for batch in batches:
        for m in batch:
            first.setdefault(m.partition() or 0, m.offset() or 0)
    return first


def is_fenced(error: KafkaError) -> bool:
    """Whether another worker took this one's place (same transactional.id or instance id, newer epoch)."""
    return error.code() in _FENCED_CODES or (is_fatal(error) and "fenc" in error.str().lower())


class StopRequest:
    """Set by SIGTERM/SIGINT: the first lets the batch in hand commit; a second gives up waiting."""

    def __init__(self) -> None:
        self.signals = 0

    @property
    def requested(self) -> bool:
        return self.signals > 0

    @property
    def forced(self) -> bool:
        return self.signals > 1

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals == 1:
            log.info("%s: stopping after the batch in hand (send it again to stop waiting)", name)
        else:
            log.warning("%s again: giving up on calls that wait for the cluster", name)

    def install(self) -> Callable[[], None]:
        """Handle SIGTERM and SIGINT, and dump every thread's stack on SIGUSR1 (main thread only).

        Returns a function restoring the old handlers.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        old = {sig: signal.signal(sig, self) for sig in (signal.SIGTERM, signal.SIGINT)}
        faulthandler.register(signal.SIGUSR1, all_threads=True)

        def restore() -> None:
            faulthandler.unregister(signal.SIGUSR1)
            for sig, handler in old.items():
                signal.signal(sig, handler)

        return restore


@dataclass
class _InFlight:
    """A transaction whose commit runs on the helper thread."""

    future: Future[None]
    messages: list[Message]
    counts: Mapping[str, int]
    consumed_at: float


class BatchLoop:
    """A worker in a consumer group: consume a batch, transform it, commit it with its output."""

    def __init__(
        self,
        settings: WorkerSettings,
        transform: Transform,
        *,
        name: str = "worker",
        topic: str | None = None,
        observer: LoopObserver | None = None,
    ) -> None:
        self.settings = settings
        self.transform = transform
        self.name = name
        self.topic = topic or settings.kafka.topics.input  # what it consumes (the DLQ for a replay)
        self.transactional_id = transactional_id(settings.group_id, settings.instance_id)
        self.totals = Totals(transform.kinds)
        self.status = StatusLine(self.totals, settings.status_interval)
        self.stop = StopRequest()
        self._assigned: set[int] = set()
        self._rebalanced = False
        self._ever_assigned = False
        self._last_activity = time.monotonic()
        self._open = False  # a transaction is open (begun, not yet committed or aborted)
        self._in_flight: _InFlight | None = None
        self._failed: list[Message] | None = None  # an aborted batch whose partitions need a rewind
        self._fatal: KafkaError | None = None
        self._failed_deliveries = 0
        self._producer: Producer | None = None
        self._call_started: float | None = None  # when the librdkafka call in progress began
        self.client_stuck = False
        self.observer = observer or LoopObserver()  # metrics and /readyz (streams.metrics)
        self._consumed_at = 0.0  # when the last batch was consumed (monotonic)
        self._closes_at = 0.0  # --latency throughput: when the next batch stops filling (monotonic)
        self.timings = LoopTimings()  # per-phase seconds, kept at DEBUG only (txscreen -v)
        self.stall = FetchStallWatch(self.topic)  # a consumer that stopped fetching (streams.worker.stall)

    # --- the loop ---

    def run(self) -> Totals:
        """Run until stopped (signal, ``max_events``, ``until_idle``); BrokerError on a fatal error."""
        restore = self.stop.install()
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            self._run()
        except KafkaException as exc:
            raise BrokerError(self._fatal_message(exc.args[0], "")) from exc
        finally:
            sys.setswitchinterval(switch_interval)
            restore()
            self.observer.stopping()
            self.timings.close()
        log.info("%s: %s", self.name, self.status.summary())
        if self.timings.enabled:
            log.debug("%s: where the time went, per batch:\n%s", self.name, self.timings.summary())
        return self.totals

    def _run(self) -> None:
        settings = self.settings
        exactly_once = settings.transactional
        producer = new_client(
            Producer,
            producer_config(
                settings,
                transactional_id=self.transactional_id if exactly_once else None,
                error_cb=self._on_error,
                on_delivery=self._on_delivery,
            ),
        )
        self._producer = producer
        if exactly_once:
            self._retrying(
                "initialize transactions",
                lambda: producer.init_transactions(CALL_TIMEOUT),
                deadline=time.monotonic() + START_TIMEOUT,
            )
        consumer = new_client(Consumer, consumer_config(settings, error_cb=self._on_error))
        try:
            consumer.subscribe(
                [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            # What start-up made (lists, clients, followers) lives as long as the process: out of the
            # collector's way, so that a full collection walks only what the batches leave behind.
            gc.freeze()
            log.info(
                "%s started: group %s, %s, reading %s%s",
                self.name,
                settings.group_id,
                settings.guarantee.value,
                self.topic,
                f", transactional.id {self.transactional_id}" if exactly_once else "",
            )
            if exactly_once:
                self._loop_exactly_once(consumer, producer)
            else:
                self._loop_at_least_once(consumer, producer)
        except BaseException:
            self._close(consumer, producer, clean=False)
            raise
        self._close(consumer, producer, clean=True)

    def _loop_exactly_once(self, consumer: Consumer, producer: Producer) -> None:
        while not self._should_stop():
            messages = self._next_batch(consumer)  # a rebalance in here settles the commit in flight
            with self.timings.phase("screen"):
                emit = self.transform(messages) if messages else None  # overlaps the commit in flight
            self._settle()
            if self._failed is not None:  # the previous batch was aborted: consume it again
                self._rewind(consumer, self._failed, messages)
                self._failed = None
                continue
            if emit is not None:
                with self.timings.phase("top-up"):
                    messages, emit = self._top_up(consumer, messages, emit)
            if emit is not None:
                self._begin(consumer, producer, messages, emit)
                self._last_activity = time.monotonic()
            if self._in_flight is None:
                producer.poll(0)
            self._raise_if_fatal()
            self.status.report(consumer)
            self.observer.tick(consumer)
            if self._in_flight is None and not self._open:
                self.stall.check(consumer, self._last_activity)

    def _loop_at_least_once(self, consumer: Consumer, producer: Producer) -> None:
        while not self._should_stop():
            messages = self._next_batch(consumer)
            if messages:
                self._deliver_then_commit(consumer, producer, messages)
                self._last_activity = time.monotonic()
            producer.poll(0)
            self._raise_if_fatal()
            self.status.report(consumer)
            self.observer.tick(consumer)
            self.stall.check(consumer, self._last_activity)

    def _in_flight_events(self) -> int:
        return len(self._in_flight.messages) if self._in_flight is not None else 0

    def _should_stop(self) -> bool:
        settings = self.settings
        if self.stop.requested:
            return True
        if settings.max_events is not None:
            done = self.totals.events + self._in_flight_events()
            if done >= settings.max_events:
                log.info("%s: %d events processed (--max-events): stopping", self.name, done)
                return True
        if settings.until_idle is not None and self._ever_assigned:
            idle = time.monotonic() - self._last_activity
            if idle >= settings.until_idle:
                log.info("%s: no input for %.1f s (--until-idle): stopping", self.name, idle)
                return True
        return False

    def _next_batch(self, consumer: Consumer) -> list[Message]:
        """One consumed batch without error events and without messages of revoked partitions."""
        limit = self.settings.max_batch
        if self.settings.max_events is not None:
            left = self.settings.max_events - self.totals.events - self._in_flight_events()
            limit = max(1, min(limit, left))
        self._rebalanced = False
        timeout = self.settings.batch_timeout
        with self.timings.phase("consume"):
            fill = self._closes_at - time.monotonic()
            if self.settings.latency is Latency.THROUGHPUT and fill > 0:
                messages = consumer.consume(limit, fill)  # the batch fills until its time is up
            else:
                messages = _arrived(consumer, limit, timeout)
        self._raise_if_fatal()
        if not messages:
            return messages
        self._consumed_at = time.monotonic()
        self._closes_at = self._consumed_at + timeout
        if self.timings.enabled:
            self.timings.ages(messages)
        if self.totals.first_batch_at is None:
            self.totals.first_batch_at = time.monotonic()
        if any(map(Message.error, messages)):
            messages = self._without_errors(messages)
        if self._rebalanced:
            kept = [m for m in messages if m.partition() in self._assigned]
            if len(kept) != len(messages):
                log.info("dropped %d messages of revoked partitions", len(messages) - len(kept))
            messages = kept
        return messages

    def _top_up(
        self, consumer: Consumer, messages: list[Message], emit: Emit
    ) -> tuple[list[Message], Emit | None]:
        """Add to the batch the events that arrived while the commit before it was waited for (and while
        it was screened), so that they go out in this transaction rather than wait for the next one.

        A rebalance during this consume would leave the batch holding events consumed before it: the
        batch is then dropped and its partitions rewound to where it began (the committed offsets).
        """
        room = self.settings.max_batch - len(messages)
        if self.settings.max_events is not None:
            room = min(room, self.settings.max_events - self.totals.events - len(messages))
        if room <= 0:
            return messages, emit
        self._rebalanced = False
        late = consumer.consume(room, 0)
        self._raise_if_fatal()
        if any(map(Message.error, late)):
            late = self._without_errors(late)
        if self._rebalanced:
            log.info("partitions moved while a batch was topped up: consuming it again")
            self._rewind(consumer, messages, late)
            return [], None
        if not late:
            return messages, emit
        return [*messages, *late], _chained(emit, self.transform(late))

    def _without_errors(self, messages: list[Message]) -> list[Message]:
        kept = []
        for m in messages:
            error = m.error()
            if error is None:
                kept.append(m)
            elif error.code() == KafkaError._PARTITION_EOF:
                continue
            elif is_fatal(error):
                place = f"while consuming {m.topic()}[{m.partition()}]" if m.topic() else "in the consumer"
                context = f" {place}"
                raise BrokerError(
                    self._fatal_message(error, context), topic=m.topic(), partition=m.partition()
                )
            else:
                log.warning("consumer error on %s[%s]: %s", m.topic(), m.partition(), error.str())
        return kept

    # --- exactly-once ---

    def _begin(self, consumer: Consumer, producer: Producer, messages: list[Message], emit: Emit) -> None:
        """Open a transaction, produce the batch's outputs and hand the commit to the helper thread."""
        offsets = offsets_after(messages)
        started = time.perf_counter()
        try:
            producer.begin_transaction()
            self._open = True
            counts = emit(producer)
            metadata = consumer.consumer_group_metadata()
        except KafkaException as exc:
            self._abort_after(exc.args[0], producer, messages)
            self._rewind(consumer, messages)
            return
        self.timings.add("produce", time.perf_counter() - started)
        future: Future[None] = Future()
        consumed_at = self._consumed_at

        def commit() -> None:
            try:
                self._commit(producer, offsets, metadata)
            except BaseException as exc:  # handed to the main thread, which decides
                future.set_exception(exc)
            else:
                self.timings.add("consumed→committed", time.monotonic() - consumed_at)
                future.set_result(None)

        # A daemon thread: a librdkafka call stuck in C must not keep the process from exiting.
        threading.Thread(target=commit, name="txscreen-commit", daemon=True).start()
        self._in_flight = _InFlight(future, messages, counts, self._consumed_at)

    def _commit(self, producer: Producer, offsets: list[TopicPartition], metadata: object) -> None:
        """On the helper thread: send the offsets to the transaction and commit it."""
        with self.timings.phase("offsets"):
            self._retrying(
                "send the offsets to the transaction",
                lambda: producer.send_offsets_to_transaction(offsets, metadata, CALL_TIMEOUT),
            )
        with self.timings.phase("commit"):
            self._retrying("commit the transaction", lambda: producer.commit_transaction(CALL_TIMEOUT))

    def _settle(self) -> None:
        """Wait for the commit in flight; count it, or abort it and remember its batch for a rewind."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return
        try:
            with self.timings.phase("settle"):
                self._wait(in_flight)
        except KafkaException as exc:
            assert self._producer is not None
            self._abort_after(exc.args[0], self._producer, in_flight.messages)
            self._failed = in_flight.messages
            return
        self._open = False
        now = time.monotonic()
        self.totals.add(in_flight.counts, len(in_flight.messages), at=now)
        self.observer.committed(in_flight.counts, transaction=True, seconds=now - in_flight.consumed_at)

    def _wait(self, in_flight: _InFlight) -> None:
        """Wait for the commit thread; ClientStuckError if a librdkafka call hangs."""
        while True:
            try:
                in_flight.future.result(timeout=1.0)
            except TimeoutError:
                started = self._call_started
                if started is not None and time.monotonic() - started > STUCK_AFTER:
                    self.client_stuck = True
                    error = ClientStuckError(
                        f"the Kafka client has been committing the transaction over "
                        f"{span(in_flight.messages)} for over {STUCK_AFTER:.0f} s, past its "
                        f"{CALL_TIMEOUT:.0f} s timeout (a librdkafka hang after a broker restart, issues "
                        "#5456/#5511); stopping so that a restart resumes from the committed offsets (the "
                        "open transaction is aborted by the next worker with the same --instance-id, or by "
                        "the broker after transaction.timeout.ms).",
                        topic=in_flight.messages[0].topic(),
                        partition=in_flight.messages[0].partition(),
                        offset=in_flight.messages[0].offset(),
                    )
                    raise error from None
            else:
                return

    def _abort_after(self, error: KafkaError, producer: Producer, messages: list[Message]) -> None:
        """Abort after an abortable error; BrokerError for anything else (fenced, fatal, unexpected)."""
        if is_fenced(error) or error.fatal() or not error.txn_requires_abort():
            self._open = False  # a fenced or fatal producer cannot abort; the broker does
            raise BrokerError(
                self._fatal_message(error, f" in the transaction over {span(messages)}"),
                topic=messages[0].topic(),
                partition=messages[0].partition(),
                offset=messages[0].offset(),
            )
        log.warning(
            "transaction over %s failed (%s): aborting it; those %d events will be consumed again",
            span(messages),
            error.str(),
            len(messages),
        )
        self._retrying("abort the transaction", lambda: producer.abort_transaction(CALL_TIMEOUT))
        self._open = False
        self.totals.aborted += 1
        self.observer.aborted()

    # --- at-least-once ---

    def _deliver_then_commit(self, consumer: Consumer, producer: Producer, messages: list[Message]) -> None:
        failed_before = self._failed_deliveries
        counts = self.transform(messages)(producer)
        while (waiting := producer.flush(CALL_TIMEOUT)) > 0:
            self._raise_if_fatal()
            if self.stop.forced:
                raise BrokerError(f"stopped with {waiting} records of {span(messages)} undelivered.")
            log.warning("still waiting for %d records of %s to be delivered", waiting, span(messages))
        if self._failed_deliveries > failed_before:
            log.warning("some records of %s were not delivered: consuming the batch again", span(messages))
            self.totals.aborted += 1
            self._rewind(consumer, messages)
            return
        offsets = offsets_after(messages)
        try:
            committed = self._retrying(
                "commit offsets", lambda: consumer.commit(offsets=offsets, asynchronous=False)
            )
        except KafkaException as exc:
            log.warning(
                "could not commit the offsets after %s (%s): those events may be processed again",
                span(messages),
                exc.args[0].str(),
            )
        else:
            for tp in committed or ():
                if tp.error is not None:
                    log.warning("could not commit %s[%d]@%d: %s", tp.topic, tp.partition, tp.offset, tp.error)
        now = time.monotonic()
        self.totals.add(counts, len(messages), at=now)
        self.observer.committed(counts, transaction=False, seconds=now - self._consumed_at)

    # --- shared helpers ---

    def _rewind(self, consumer: Consumer, *batches: Sequence[Message]) -> None:
        """Seek the partitions of the batches back to where the earliest began: the last committed offsets."""
        for partition, offset in sorted(first_offsets(*batches).items()):
            if partition not in self._assigned:
                continue  # another worker owns it now and starts from the committed offset
            try:
                consumer.seek(TopicPartition(self.topic, partition, offset))
            except KafkaException as exc:
                raise BrokerError(
                    f"could not rewind {self.topic}[{partition}] to @{offset} after a failed batch "
                    f"({exc.args[0].str()}); stopping so that a restart resumes from the committed offsets.",
                    topic=self.topic,
                    partition=partition,
                    offset=offset,
                ) from exc
            log.info("rewound %s[%d]@%d", self.topic, partition, offset)

    def _retrying(self, what: str, call: Callable[[], T], *, deadline: float | None = None) -> T:
        """``call()``, again after retriable errors (back-off up to 2 s) until it succeeds or ``deadline``."""
        delay = 0.1
        while True:
            try:
                self._call_started = time.monotonic()
                return call()
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.fatal() or error.txn_requires_abort() or not error.retriable():
                    raise
                if self.stop.forced:
                    raise BrokerError(f"stopped by a second signal while trying to {what}.") from exc
                if deadline is not None and time.monotonic() > deadline:
                    raise BrokerError(
                        f"could not {what} with the cluster at {self.settings.kafka.bootstrap_servers}: "
                        f"{error.str()}."
                    ) from exc
                log.warning("could not %s (%s): trying again", what, error.str())
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                self._call_started = None

    def _fatal_message(self, error: KafkaError, context: str) -> str:
        if error.code() == KafkaError._FATAL:
            # "Local: Fatal error" only says the client is dead; the reason came to error_cb.
            if self._fatal is None and self._producer is not None and not self.client_stuck:
                self._producer.poll(0)
            error = self._fatal or error
        if is_fenced(error):
            return (
                f"{self.name} was fenced{context}: another worker with transactional.id "
                f"{self.transactional_id} or instance id {self.settings.instance_id} took over "
                f"({error.str()}); nothing more was committed."
            )
        kind = "fatal" if error.fatal() else "unrecoverable"
        return f"{kind} Kafka error{context}: {error.str()}."

    def _raise_if_fatal(self) -> None:
        if self._fatal is not None:
            raise BrokerError(self._fatal_message(self._fatal, ""))

    def _close(self, consumer: Consumer, producer: Producer, *, clean: bool) -> None:
        """Commit the batch in hand (``clean``) and leave the group; after a failure, only leave the group.

        After a fatal error the producer is not flushed: its queued records are void (their
        transaction is aborted by the broker or by the next worker), and a stuck client may block.
        """
        if self.client_stuck:
            return  # any call into the stuck client may block too; the process exits instead
        if clean:
            try:
                self._settle()  # let the batch in hand commit
            except BrokerError as exc:
                log.warning("the last batch did not commit: %s", exc)
                clean = False
                if self.client_stuck:
                    return
        if clean or self._fatal is None:
            self._abort_open("closing")
        try:
            consumer.close()  # leaves the group (a static member keeps its place until its session ends)
        except Exception as exc:  # closing must not hide the error that got us here
            log.warning("closing the consumer: %s", exc)
        if clean:
            remaining = producer.flush(10)
            if remaining:
                log.warning("%d records were still undelivered at close", remaining)

    def _abort_open(self, why: str) -> None:
        if not self._open or self._producer is None:
            return
        log.warning("aborting the open transaction (%s)", why)
        try:
            self._producer.abort_transaction(CALL_TIMEOUT)
        except KafkaException as exc:
            log.warning("could not abort the open transaction: %s", exc.args[0].str())
        self._open = False

    # --- callbacks (served from consume, poll and flush) ---

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.update(tp.partition for tp in partitions)
        self._rebalanced = True
        self._ever_assigned = True
        self._last_activity = time.monotonic()
        self.observer.assigned(len(self._assigned))
        log.info("assigned %s", _partitions(partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.difference_update(tp.partition for tp in partitions)
        self._rebalanced = True
        self._settle()  # the commit in flight finishes (or is aborted) before the partitions go
        self.observer.assigned(len(self._assigned))
        log.info("revoked %s", _partitions(partitions))

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.difference_update(tp.partition for tp in partitions)
        self._rebalanced = True
        self._settle()  # its offsets commit will be refused (new generation), and it is aborted
        self.observer.assigned(len(self._assigned))
        log.warning("lost %s (the group moved on without this worker)", _partitions(partitions))

    def _on_error(self, error: KafkaError) -> None:
        if is_fatal(error):
            self._fatal = self._fatal or error
            log.error("fatal Kafka error: %s", error.str())
        elif error.code() in _CONNECTION_ERRORS:
            log.debug("Kafka: %s", error.str())  # librdkafka's own log line already says it
        else:
            show, held = CLIENT_ERRORS.allow(error.str())  # a broker that is down repeats its errors
            if show:
                log.warning("Kafka: %s%s", error.str(), f" ({held} more like it)" if held else "")

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed_deliveries += 1
            if self._failed_deliveries <= 3 or self._failed_deliveries % 1000 == 0:
                log.error(
                    "could not deliver a record to %s (%d so far): %s",
                    message.topic(),
                    self._failed_deliveries,
                    error.str(),
                )


def _chained(first: Emit, second: Emit) -> Emit:
    """One emit step producing ``first``'s outputs, then ``second``'s, with their counts added up (with their
    break-downs for the metrics: :func:`streams.outputs.merge_counts`)."""

    def emit(producer: Producer) -> Mapping[str, int]:
        counts = first(producer)
        return outputs.merge_counts(counts, second(producer))

    return emit


def _arrived(consumer: Consumer, limit: int, timeout: float) -> list[Message]:
    """``--latency low``: up to ``limit`` messages already fetched, else the first within ``timeout`` and
    those fetched with it (``consume(n, t)`` alone waits for ``n`` messages or the whole ``t``)."""
    messages = consumer.consume(limit, 0)
    if not messages:
        messages = consumer.consume(1, timeout)
        if messages and limit > 1:
            messages += consumer.consume(limit - 1, 0)
    return messages


def _partitions(partitions: Sequence[TopicPartition]) -> str:
    if not partitions:
        return "no partitions"
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(partitions, key=lambda tp: tp.partition))
