"""The one output step of every engine: a screened batch becomes output records, which engines only send.

An engine hands its consumed messages and a small :class:`MessageAdapter` (how to read a message's
value, key, headers and source) to :func:`screen_messages`, which makes the one
:func:`matchers.screening.screen_batch` call (with the engine's output size limit, so the core's
result is final), then to :func:`output_records`, which turns the :class:`BatchResult` into one
immutable :class:`OutputRecord` per input, in input order:

* **topic** — the verdict's destination (a topic, or for the file runner an output file);
* **key** — the input's key;
* **value** — the core's value: the original bytes, the blocked record or the dead letter;
* **headers** — the input's headers without any ``txscreen-*`` one (:func:`streams.headers.own_headers`;
  the drops are counted and logged once per batch), then the three txscreen headers.

It also logs each outcome, as every engine did: one INFO line per blocked input (where, the event id,
each entity id and rule; the matched texts at DEBUG only: payment data in logs is personal data) and
one WARNING per dead letter, naming ``topic[partition]@offset``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, methodcaller
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from matchers.automaton import NameAutomaton
from matchers.screening import BatchResult, Triaged, screen_batch, screen_triaged
from schemas.events import MAX_EVENT_BYTES
from schemas.records import Hit, Verdict
from streams.headers import ALLOWLISTED, Headers, own_headers, verdict_headers
from streams.metrics.reasons import reason_class

log = logging.getLogger(__name__)

M = TypeVar("M")
Source = dict[str, Any]


class OutputRecord(NamedTuple):
    """One record to send: where, with which key, value and headers (engines send it as it is)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class MessageAdapter(Generic[M]):
    """How to read an engine's consumed message: its value, key, headers and where it came from."""

    value: Callable[[M], bytes | None]
    key: Callable[[M], bytes | None]
    headers: Callable[[M], Any]
    #: A blocked record's or dead letter's ``source``: ``{"topic", "partition", "offset"}`` for Kafka.
    source: Callable[[M], Source]
    #: The messages never carry a key or headers (the file runner's lines): ``key`` and ``headers``
    #: are not called, and each record gets its verdict's txscreen headers (one list per verdict).
    bare: bool = False


def kafka_source(message: Any) -> Source:
    """Where a confluent-kafka message came from."""
    return {"topic": message.topic(), "partition": message.partition(), "offset": message.offset()}


def faust_source(message: Any) -> Source:
    """Where a Faust (aiokafka) message came from."""
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}


#: A ``confluent_kafka.Message`` (the worker, the copier, the dlq replay).
KAFKA_MESSAGE: MessageAdapter[Any] = MessageAdapter(
    methodcaller("value"), methodcaller("key"), methodcaller("headers"), kafka_source
)
#: A Faust ``Message`` (the Faust engine).
FAUST_MESSAGE: MessageAdapter[Any] = MessageAdapter(
    attrgetter("value"), attrgetter("key"), attrgetter("headers"), faust_source
)


def where(source: Mapping[str, Any]) -> str:
    """``topic[partition]@offset`` of a Kafka source (``file:line`` of a file's)."""
    if "file" in source:
        return f"{source['file']}:{source['line']}"
    return f"{source['topic']}[{source['partition']}]@{source['offset']}"


def span(sources: Iterable[Mapping[str, Any]]) -> str:
    """The offsets a batch covers, per partition: ``payments[0]@10..59, payments[3]@7..80``."""
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for source in sources:
        key = (source["topic"] or "", source["partition"] or 0)
        offset = source["offset"] or 0
        low, high = ranges.get(key, (offset, offset))
        ranges[key] = (min(low, offset), max(high, offset))
    return ", ".join(f"{t}[{p}]@{low}..{high}" for (t, p), (low, high) in sorted(ranges.items()))


def screen_messages(
    messages: Sequence[M],
    adapter: MessageAdapter[M],
    automaton: NameAutomaton,
    *,
    now: datetime | None = None,
    max_output_bytes: int | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
    cut: Mapping[int, int] | None = None,
    triaged: Triaged | None = None,
) -> BatchResult:
    """One ``screen_batch`` call over the messages' values, at ``now`` (rule f; default: the clock now).

    ``triaged``: the messages' values already went through :func:`matchers.screening.triage_batch` (on
    another thread, say), with ``automaton``, ``max_event_bytes`` and ``cut``: only its second step runs.
    """
    source = adapter.source
    when = now if now is not None else datetime.now(UTC)
    if triaged is not None:
        if triaged.automaton is not automaton or len(triaged.inputs) != len(messages):
            raise ValueError("the triaged batch is not these messages screened with this automaton")
        return screen_triaged(triaged, when, lambda i: source(messages[i]), max_output_bytes=max_output_bytes)
    return screen_batch(
        [adapter.value(m) for m in messages],
        automaton,
        when,
        lambda i: source(messages[i]),
        max_event_bytes=max_event_bytes,
        max_output_bytes=max_output_bytes,
        cut=cut,
    )


def output_records(
    messages: Sequence[M],
    adapter: MessageAdapter[M],
    result: BatchResult,
    destinations: Mapping[Verdict, str],
    *,
    log_outcomes: bool = True,
    allowlisted: Mapping[int, Sequence[str]] | None = None,
) -> list[OutputRecord]:
    """One output record per message, in order; logs the outcomes (unless ``log_outcomes`` is off).

    ``allowlisted`` maps the inputs the allowlist cleared (:func:`matchers.allowlist.apply_allowlist`)
    to the entries that cleared them: their records also carry ``txscreen-allowlisted: <entry ids>``.
    """
    if log_outcomes:
        log_batch_outcomes(messages, adapter, result)
    version, screened_at = result.watchlist_version, result.screened_at
    route = {v: (destinations[v], verdict_headers(v, version, screened_at)) for v in Verdict}
    records: list[OutputRecord] = []
    dropped = 0
    if adapter.bare:  # no key, no input headers: the verdict alone makes the record
        topics = map({v: topic for v, (topic, _) in route.items()}.__getitem__, result.verdicts)
        extras = map({v: extra for v, (_, extra) in route.items()}.__getitem__, result.verdicts)
        keys = repeat(None, len(messages))  # strict zip: as many messages as verdicts
        fields = zip(topics, keys, result.values, extras, strict=True)
        records = list(map(tuple.__new__, repeat(OutputRecord), fields))  # as _make, without a frame a record
    else:
        # The loop runs once per event of every batch: keys and headers are read in one pass each, an input
        # without headers (the common case) skips own_headers, and the records are built as plain tuples.
        append, new = records.append, tuple.__new__
        given = zip(map(adapter.key, messages), map(adapter.headers, messages), strict=True)
        for (key, original), verdict, value in zip(given, result.verdicts, result.values, strict=True):
            topic, extra = route[verdict]
            if original:
                headers, forged = own_headers(original, extra)
                dropped += forged
            else:
                headers = extra
            append(new(OutputRecord, (topic, key, value, headers)))
    for i, entry_ids in (allowlisted or {}).items():
        record = records[i]  # headers may be shared with other records: build a new list
        records[i] = record._replace(headers=[*record.headers, (ALLOWLISTED, ",".join(entry_ids).encode())])
        log.info("allowlisted %s: entries %s", where(adapter.source(messages[i])), ", ".join(entry_ids))
    if dropped:
        log_dropped_headers(dropped, span(map(adapter.source, messages)))
    return records


#: The ``verdict`` label of events the allowlist cleared (they go to the cleared topic).
ALLOWLISTED_VERDICT = "allowlisted"


class Counts(dict[str, int]):
    """A batch's counts by outcome, as the status line names them (:attr:`Verdict.count_name`), plus the
    break-downs the metrics count once the batch is committed (:mod:`streams.metrics.registry`)."""

    __slots__ = ("dead_letters", "hits", "verdicts")

    def __init__(self, result: BatchResult) -> None:
        super().__init__(
            {
                Verdict.CLEARED.count_name: result.cleared,
                Verdict.BLOCKED.count_name: result.blocked,
                Verdict.DEAD_LETTER.count_name: result.dead_lettered,
            }
        )
        #: Events by verdict label (``cleared``, ``blocked``, ``dead-letter``).
        self.verdicts: dict[str, int] = {
            Verdict.CLEARED.value: result.cleared,
            Verdict.BLOCKED.value: result.blocked,
            Verdict.DEAD_LETTER.value: result.dead_lettered,
        }
        #: Dead letters by reason class (:func:`streams.metrics.reasons.reason_class`).
        self.dead_letters: Counter[str] = Counter(map(reason_class, result.errors.values()))
        #: Hits listed in the blocked records, by list and rule.
        self.hits: Counter[tuple[str, str]] = Counter(
            (hit.list_id, hit.rule) for hits in result.hits.values() for hit in hits
        )

    def allowlisted(self, n: int) -> None:
        """``n`` of the cleared events were cleared by the allowlist: the metrics count them apart."""
        if n:
            self.verdicts[Verdict.CLEARED.value] -= n
            self.verdicts[ALLOWLISTED_VERDICT] = n


def counts(result: BatchResult) -> Counts:
    """A batch's counts by outcome (:class:`Counts`)."""
    return Counts(result)


def merge_counts(first: Mapping[str, int], second: Mapping[str, int]) -> Mapping[str, int]:
    """Two parts of one batch counted as one (a batch topped up after the wait for the commit in flight).

    Two :class:`Counts` give a Counts whose break-downs (verdicts, dead-letter reasons, hits) are added up
    too, so that the metrics count every event of the batch; other mappings (the copier's) give a dict.
    """
    total = {kind: first.get(kind, 0) + second.get(kind, 0) for kind in {**first, **second}}
    if not (isinstance(first, Counts) and isinstance(second, Counts)):
        return total
    merged = Counts.__new__(Counts)
    dict.__init__(merged, total)
    merged.verdicts = {
        verdict: first.verdicts.get(verdict, 0) + second.verdicts.get(verdict, 0)
        for verdict in {**first.verdicts, **second.verdicts}
    }
    merged.dead_letters = first.dead_letters + second.dead_letters
    merged.hits = first.hits + second.hits
    return merged


def log_batch_outcomes(messages: Sequence[M], adapter: MessageAdapter[M], result: BatchResult) -> None:
    """One line per blocked input (INFO) and per dead letter (WARNING), naming topic[partition]@offset."""
    if result.hits and log.isEnabledFor(logging.INFO):
        for i, hits in result.hits.items():
            log_blocked(where(adapter.source(messages[i])), result.values[i], hits)
    for i, error in result.errors.items():
        message = messages[i]
        log.warning(
            "dead-lettered %s (key %r): %s", where(adapter.source(message)), adapter.key(message), error
        )


def log_dropped_headers(count: int, inputs: str) -> None:
    """The one WARNING of a batch whose inputs carried ``txscreen-*`` headers (names and values not shown)."""
    log.warning(
        "dropped %d txscreen-* header%s carried by the inputs %s: only txscreen sets them",
        count,
        "" if count == 1 else "s",
        inputs,
    )


def describe_hits(hits: Sequence[Hit]) -> str:
    """``us-eo-2020:bytedance 'TikTok' in creditor.name (anywhere)``, for each hit."""
    return "; ".join(f"{h.entity_id} {h.matched_text!r} in {h.field} ({h.rule})" for h in hits)


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
