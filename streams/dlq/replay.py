"""``txscreen dlq replay``: re-publish chosen dead letters to the input topic, exactly once, with a record.

The replay is the worker's exactly-once batch loop (:mod:`streams.worker.batch_loop`, as the copier uses it)
reading the dead-letter topic ``read_committed`` in its own consumer group (``txscreen-dlq-replay``).
In one transaction per batch it produces

* each chosen dead letter's ``raw`` (base64-decoded when ``raw_encoding`` says so), after its fix,
  to the input topic, with the dead letter record's key and headers, minus every ``txscreen-*``
  header, plus ``txscreen-replay-of: <dlq topic>[partition]@offset``;
* one audit record per replay to the audit topic (``payments.dlq.replayed``, key = that same
  ``topic[partition]@offset``): :func:`audit_record`;
* the batch's dead-letter offsets, with the group's metadata (``send_offsets_to_transaction``).

So a run that is killed (kill -9) and started again, or run twice, replays every dead letter at most
once and records each replay exactly once: what committed is what was replayed. It never clears
anything: the screening worker screens the replayed events again like any other input.

Which records are replayed, passed over or left for a later run: :mod:`streams.dlq.selection`.
"""

from __future__ import annotations

import base64
import getpass
import json
import logging
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.errors import BrokerError, ConfigError
from schemas.records import timestamp
from streams.dlq.selection import Decision, Fixer, Gate, Kind, Selection, decide, event_id, original_bytes
from streams.headers import REPLAY_OF, Headers, is_reserved
from streams.kafka.backpressure import produce
from streams.kafka.clients import RDKAFKA_LOG, admin_config, is_fatal
from streams.kafka.topics import require_topics
from streams.settings import KafkaSettings, WorkerSettings
from streams.status import StatusLine, Totals
from streams.worker.batch_loop import BatchLoop, Emit

log = logging.getLogger(__name__)

"""Header of a replayed event: the dead letter it came from, ``payments.dlq[0]@17``."""
REPLAYED: Final = "replayed"
SKIPPED: Final = "skipped"
_REASON: Final = "reason:"


def position(topic: str, partition: int, offset: int) -> str:
    """``payments.dlq[0]@17``."""
    return f"{topic}[{partition}]@{offset}"


def replay_headers(headers: Any, replay_of: str) -> Headers:
    """The dead letter record's headers without ``txscreen-*`` ones, then ``txscreen-replay-of``."""
    pairs: Sequence[tuple[str, Any]] = headers or ()  # a list of (name, bytes) on a consumed message
    kept: Headers = [(k, v) for k, v in pairs if not is_reserved(k)]
    kept.append((REPLAY_OF, replay_of.encode()))
    return kept


@dataclass(frozen=True, slots=True)
class Actor:
    """Who replays: the user and host, recorded in every audit record."""

    user: str
    host: str

    @classmethod
    def here(cls, user: str | None = None) -> Actor:
        """The given user (``--actor``), else the login name; this host's name."""
        try:
            login = getpass.getuser()
        except (KeyError, OSError):
            login = "unknown"
        return cls(user or login, socket.gethostname())


def audit_record(
    *,
    dead_letter: tuple[str, int, int],
    decision: Decision,
    replayed_to: str,
    fix: str | None,
    replayed_at: str,
    actor: Actor,
) -> bytes:
    """The audit record of one replay (JSON)::

    {"dead_letter": {"topic", "partition", "offset"}, "source": <the dead letter's source>,
     "error": <its error>, "replayed_to": {"topic"}, "event_id": <id of the replayed event or null>,
     "fixed": <whether the replayed bytes differ from raw>, "fix": "file" | "command" | null,
     "replayed_at": RFC 3339, "actor": user, "host": host}
    """
    letter = decision.letter
    value = decision.value or b""
    topic, partition, offset = dead_letter
    return orjson.dumps(
        {
            "dead_letter": {"topic": topic, "partition": partition, "offset": offset},
            "source": letter.source if letter is not None else {},
            "error": letter.error if letter is not None else None,
            "replayed_to": {"topic": replayed_to},
            "event_id": event_id(value),
            "fixed": letter is not None and fix is not None and value != _raw(decision),
            "fix": fix,
            "replayed_at": replayed_at,
            "actor": actor.user,
            "host": actor.host,
        }
    )


def _raw(decision: Decision) -> bytes | None:
    return original_bytes(decision.letter) if decision.letter is not None else None


class ReplayTransform:
    """Decides (and fixes) each dead letter of a batch; the emit step replays the chosen ones with records."""

    kinds: Sequence[str] = (REPLAYED, SKIPPED)

    def __init__(
        self, selection: Selection, fixer: Fixer, *, dlq: str, output: str, audit: str, actor: Actor
    ) -> None:
        self.selection = selection
        self.fixer = fixer
        self.dlq = dlq
        self.output = output
        self.audit = audit
        self.actor = actor
        self.fix_failures = 0

    def _warn_skip(self, where: str, reason: str) -> None:
        """A line per dead letter a fix skipped: the first ten, then one per thousand (all are counted)."""
        self.fix_failures += 1
        n = self.fix_failures
        if n <= 10 or n % 1000 == 0:
            more = "; further ones are counted in the summary, one line per thousand" if n == 10 else ""
            log.warning("skipped %s: %s (%d so far%s)", where, reason, n, more)

    def __call__(self, messages: list[Message]) -> Emit:
        """The fixes run here (before the transaction); the returned step only produces."""
        plans = [
            (m, decide(self.selection, self.fixer, m.partition() or 0, m.offset() or 0, m.value()))
            for m in messages
        ]
        fix = self.fixer.kind

        def emit(producer: Producer) -> dict[str, int]:
            counts: Counter[str] = Counter()
            replayed_at = timestamp()
            for message, decision in plans:
                where = (self.dlq, message.partition() or 0, message.offset() or 0)
                if not decision.replays:
                    counts[SKIPPED] += 1
                    counts[_REASON + decision.reason] += 1
                    if decision.kind is Kind.CHOSEN:  # a failed fix: worth a line; a pass-over is not
                        self._warn_skip(position(*where), decision.reason)
                    continue
                replay_of = position(*where)
                record = audit_record(
                    dead_letter=where,
                    decision=decision,
                    replayed_to=self.output,
                    fix=fix,
                    replayed_at=replayed_at,
                    actor=self.actor,
                )
                produce(
                    producer,
                    self.output,
                    decision.value,
                    message.key(),
                    headers=replay_headers(message.headers(), replay_of),
                )
                produce(producer, self.audit, record, replay_of.encode())
                counts[REPLAYED] += 1
            return dict(counts)

        return emit


class ReplayTotals(Totals):
    """Replayed and skipped counts; the reasons of the skips are kept apart from the status line."""

    def describe(self) -> str:
        """``replayed 9,800, skipped 12``."""
        return ", ".join(f"{kind} {self.counts.get(kind, 0):,}" for kind in self.kinds)

    def reasons(self) -> dict[str, int]:
        """Skips per reason, most frequent first."""
        found = {k.removeprefix(_REASON): n for k, n in self.counts.items() if k.startswith(_REASON) and n}
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        """``replayed N, skipped M (reason: n, …)``."""
        reasons = self.reasons()
        detail = f" ({'; '.join(f'{r}: {n:,}' for r, n in reasons.items())})" if reasons else ""
        return f"replayed {self.counts.get(REPLAYED, 0):,}, skipped {self.counts.get(SKIPPED, 0):,}{detail}"


class ReplayLoop(BatchLoop):
    """The batch loop on the dead-letter topic, cut by a :class:`Gate` (partitions held, ``--max``)."""

    def __init__(self, settings: WorkerSettings, transform: ReplayTransform, gate: Gate) -> None:
        super().__init__(settings, transform, name="dlq replay", topic=transform.dlq)
        self.gate = gate
        self.totals = ReplayTotals(transform.kinds)
        self.status = StatusLine(self.totals, settings.status_interval)

    def _next_batch(self, consumer: Consumer) -> list[Message]:
        messages = super()._next_batch(consumer)
        if not messages:
            return messages
        # A batch consumed again after an aborted transaction counts its chosen ones twice: the run
        # then stops early (fewer than --max), never later.
        held_before = set(self.gate.held)
        kept: list[Message] = self.gate.admit(messages)
        newly_held = self.gate.held - held_before
        if newly_held:
            self._pause(consumer, newly_held)
        return kept

    def _pause(self, consumer: Consumer, partitions: set[int]) -> None:
        try:
            consumer.pause([TopicPartition(self.topic, p) for p in sorted(partitions)])
        except KafkaException as exc:
            log.debug("could not pause %s: %s", partitions, exc)
        for p in sorted(partitions):
            log.info("%s[%d]: the rest is left for a later run", self.topic, p)

    def _should_stop(self) -> bool:
        if self.gate.done:
            log.info("dlq replay: --max %d dead letters chosen: stopping", self.gate.selection.max or 0)
            return True
        if self._ever_assigned and self._assigned and self._assigned <= self.gate.held:
            log.info("dlq replay: every assigned partition is done: stopping")
            return True
        return super()._should_stop()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        super()._on_assign(consumer, partitions)
        skipped = {tp.partition for tp in partitions if not self.gate.selection.takes_partition(tp.partition)}
        self.gate.held |= skipped
        held = [tp for tp in partitions if tp.partition in self.gate.held]
        if held:
            consumer.assign(partitions)
            consumer.pause(held)


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """One replay run: where from and to, what, how fixed, by whom."""

    settings: WorkerSettings
    selection: Selection
    fixer: Fixer
    output: str
    actor: Actor

    @property
    def dlq(self) -> str:
        """The dead-letter topic read."""
        return self.settings.kafka.topics.dlq

    @property
    def audit(self) -> str:
        """The audit topic written."""
        return self.settings.kafka.topics.replayed


def check_output(kafka: KafkaSettings, output: str) -> None:
    """ConfigError when the replay would write to an output or the audit topic (it feeds screening only)."""
    topics = kafka.topics
    forbidden = {topic: verdict.value for verdict, topic in topics.by_verdict().items()}
    forbidden[topics.replayed] = "replay audit"
    if output in forbidden:
        raise ConfigError(
            f"dlq replay writes to a topic the screening worker reads, never to the {forbidden[output]} "
            f"topic {output}."
        )


def run_replay(plan: ReplayPlan) -> ReplayTotals:
    """Replay until the dead-letter topic is idle, ``--max`` or a signal; BrokerError on a failure."""
    check_output(plan.settings.kafka, plan.output)
    require_topics(AdminClient(admin_config(plan.settings.kafka)), [plan.dlq, plan.output, plan.audit])
    log.info(
        "dlq replay: %s → %s (records to %s), group %s; choosing %s; fix: %s; by %s@%s",
        plan.dlq,
        plan.output,
        plan.audit,
        plan.settings.group_id,
        plan.selection.describe(),
        plan.fixer.label,
        plan.actor.user,
        plan.actor.host,
    )
    transform = ReplayTransform(
        plan.selection, plan.fixer, dlq=plan.dlq, output=plan.output, audit=plan.audit, actor=plan.actor
    )
    loop = ReplayLoop(plan.settings, transform, Gate(plan.selection))
    loop.run()
    totals = loop.totals
    assert isinstance(totals, ReplayTotals)
    log.info("dlq replay: %s", totals.summary())
    return totals


# --- dry run ------------------------------------------------------------------------------------------


def _dry_run_records(plan: ReplayPlan, timeout: float) -> Iterator[Message]:
    """The dead-letter topic from the group's committed offsets to its end, committing nothing."""
    kafka = plan.settings.kafka
    consumer = Consumer(
        {
            **kafka.client_options.for_client("consumer"),
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": plan.settings.group_id,  # only to read its committed offsets: never joins
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "logger": RDKAFKA_LOG,
        }
    )
    try:
        try:
            info = consumer.list_topics(plan.dlq, timeout=30).topics.get(plan.dlq)
            if info is None or info.error is not None or not info.partitions:
                raise BrokerError(f"topic {plan.dlq} does not exist.", topic=plan.dlq)
            chosen = [p for p in sorted(info.partitions) if plan.selection.takes_partition(p)]
            committed = consumer.committed([TopicPartition(plan.dlq, p) for p in chosen], timeout=30)
        except KafkaException as exc:
            raise BrokerError(
                f"the Kafka cluster at {kafka.bootstrap_servers} did not answer: {exc}."
            ) from exc
        if not committed:
            return
        consumer.assign(committed)  # a partition without a committed offset starts at the beginning
        at_end: set[int] = set()
        last_seen = time.monotonic()
        while len(at_end) < len(committed) and time.monotonic() - last_seen < timeout:
            for message in consumer.consume(1000, 0.5):
                error = message.error()
                if error is None:
                    last_seen = time.monotonic()
                    yield message
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
                elif is_fatal(error):
                    raise BrokerError(f"reading {message.topic() or 'the dead letters'}: {error.str()}.")
                else:
                    log.warning(
                        "consumer error on %s[%s]: %s", message.topic(), message.partition(), error.str()
                    )
    finally:
        consumer.close()


def dry_run(plan: ReplayPlan, out: TextIO = sys.stdout, timeout: float = 10.0) -> ReplayTotals:
    """Print one JSON line per chosen dead letter (what would be replayed, or why not); produce nothing."""
    check_output(plan.settings.kafka, plan.output)
    gate = Gate(plan.selection)
    totals = ReplayTotals((REPLAYED, SKIPPED))
    for message in _dry_run_records(plan, timeout):
        if gate.done:
            break
        if not gate.admit([message]):
            continue
        where = (plan.dlq, message.partition() or 0, message.offset() or 0)
        decision = decide(plan.selection, plan.fixer, where[1], where[2], message.value())
        counts: Mapping[str, int]
        counts = {REPLAYED: 1} if decision.replays else {SKIPPED: 1, _REASON + decision.reason: 1}
        totals.add(counts, 1, at=time.monotonic())
        if decision.kind is not Kind.CHOSEN:
            continue
        line: dict[str, Any] = {"dead_letter": position(*where), "replay": decision.replays}
        if decision.replays:
            value = decision.value or b""
            line["event_id"] = event_id(value)
            line["fixed"] = plan.fixer.kind is not None and value != _raw(decision)
            try:
                line["value"] = value.decode("utf-8")
            except UnicodeDecodeError:
                line["value"] = base64.b64encode(value).decode("ascii")
                line["value_encoding"] = "base64"
        else:
            line["reason"] = decision.reason
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    log.info("dlq replay --dry-run: would have %s; nothing produced or committed", totals.summary())
    return totals
