"""The screening step: a pure function from a batch of raw event values to one verdict each.

``screen_batch(raws, automaton, now)`` knows nothing about files or Kafka: runners move
bytes in and out. It works in three tiers, each only for what the one before could not settle:

1. The native triage (``matchers._native``, one call per batch) clears every event it can
   prove clean: valid by the schema, its texts folded there (ASCII and accented Latin) and
   holding no key.
2. Texts only Python folds (other scripts, invisible characters, controls) come back from the
   triage and are folded and searched, with their other readings (policy a), in one pass per
   batch; their events are clean if none holds a key.
3. The rest (invalid or doubtful input, any key found) takes :func:`screen_batch_full`: msgspec
   decoding and validation, batch folds, one automaton pass, and the slow path that maps a hit's
   offsets back to the original field text. It decides every verdict that is not "clean".

Per-message failures are values: an input that is not a valid payment event gets the
verdict ``DEAD_LETTER`` with a reason; nothing raises out of the loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import msgspec

from matchers.automaton import Found, NameAutomaton, key_core_offset
from matchers.normalize import (
    BATCH_SEPARATOR,
    FoldMap,
    fold,
    fold_ascii_batch,
    fold_batch,
    fold_simple_batch,
    may_have_readings,
    not_simple_search,
    readings,
)
from matchers.policy import MatchRule
from schemas.events import (
    MAX_EVENT_BYTES,
    PARTY_NAME_FIELDS,
    SCREENED_FIELDS,
    PaymentEvent,
    amount_ok,
    bad_amount,
    decode_event,
    explain,
)
from schemas.records import Hit, Verdict, encode_blocked, encode_dead_letter, timestamp

SourceOf = Callable[[int], dict[str, Any]]

_FIELDS: Final = len(SCREENED_FIELDS)
_EMPTY: Final = ("",) * _FIELDS
_SEP: Final = ord(BATCH_SEPARATOR)
_SEP_BYTES: Final = BATCH_SEPARATOR.encode()
_PARTY_SLOTS: Final = frozenset(i for i, f in enumerate(SCREENED_FIELDS) if f in PARTY_NAME_FIELDS)


@dataclass(slots=True)
class BatchResult:
    """One verdict and one output value per input, in input order.

    ``values[i]`` is what goes to the verdict's destination: the original bytes for a cleared
    event, the blocked record for a blocked one, the dead letter for a malformed one.
    """

    verdicts: list[Verdict]
    values: list[bytes]
    hits: dict[int, list[Hit]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    watchlist_version: str = ""
    screened_at: str = ""

    @property
    def blocked(self) -> int:
        """How many inputs were blocked."""
        return len(self.hits)

    @property
    def dead_lettered(self) -> int:
        """How many inputs were dead-lettered."""
        return len(self.errors)

    @property
    def cleared(self) -> int:
        """How many inputs were cleared."""
        return len(self.verdicts) - len(self.hits) - len(self.errors)


class _HitCollector:
    """Turns automaton finds in a batch string into hits, per event."""

    def __init__(self, automaton: NameAutomaton) -> None:
        self.hits: dict[int, list[Hit]] = {}
        self._seen: set[tuple[int, str, str, int, int, str]] = set()
        self._automaton = automaton

    def collect(
        self,
        batch: bytes,
        texts: Sequence[str],
        slots: Sequence[int] | None,
        events: Sequence[PaymentEvent | None],
        origins: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        """Hits from one folded batch (UTF-8) of ``texts``; ``slots[k]`` is text k's event*5+field.

        When ``texts`` are readings, ``origins[k]`` is text k's original field text and which of its
        :func:`readings` it is (positions are worked out only for a reading that hits).
        """
        finds = sorted(self._automaton.find(batch), key=lambda f: f.start)
        if not finds:
            return
        maps: dict[int, FoldMap] = {}
        read: dict[
            str, list[tuple[str, list[int] | None]]
        ] = {}  # an original text's readings, with positions
        index, counted_to = 0, 0
        for found in finds:
            sep = found.start
            if batch[sep] != _SEP:
                sep = batch.rfind(_SEP_BYTES, 0, sep)
            index += batch.count(_SEP_BYTES, counted_to, sep)
            counted_to = sep
            slot = slots[index] if slots is not None else index
            event_index, field_index = divmod(slot, _FIELDS)
            event = events[event_index]
            if event is None:
                continue
            text = target_text = texts[index]
            if origins is not None:
                target_text = origins[index][0]
            # Offsets are in bytes; within the folded text they are needed in characters.
            local = len(batch[sep + 2 : found.start + key_core_offset(found.key)].decode("utf-8"))
            for target_index, target in enumerate(found.targets):
                if target.rule is MatchRule.WHOLE_FIELD and field_index not in _PARTY_SLOTS:
                    continue
                if not target.entity.in_force(event.created_at):
                    continue
                if index not in maps:
                    positions = None
                    if origins is not None:
                        if target_text not in read:
                            read[target_text] = readings(target_text, positions=True)
                        positions = read[target_text][origins[index][1]][1]
                    maps[index] = FoldMap(text, positions)
                hit = make_hit(
                    target_text=target_text,
                    folded=maps[index],
                    local=local,
                    found=found,
                    target_index=target_index,
                    field_name=SCREENED_FIELDS[field_index],
                )
                marker = (event_index, hit.entity_id, hit.field, hit.start, hit.end, hit.matched_name)
                if marker not in self._seen:
                    self._seen.add(marker)
                    self.hits.setdefault(event_index, []).append(hit)


def make_hit(
    *,
    target_text: str,
    folded: FoldMap,
    local: int,
    found: Found,
    target_index: int,
    field_name: str,
) -> Hit:
    """A hit with offsets into the original field text, mapped back through a :class:`FoldMap`."""
    target = found.targets[target_index]
    norm = folded.folded
    form = found.form
    if norm[local : local + len(form)] != form:
        local = norm.find(form)
    if local >= 0 and form:
        start, end = folded.span(local, local + len(form))
    else:  # cannot happen while fold and fold_with_spans agree; report the whole field
        start, end = 0, len(target_text)
    entity = target.entity
    return Hit(
        entity_id=entity.id,
        list_id=entity.list_id,
        entity_name=entity.primary_name,
        entity_type=entity.type.value,
        matched_name=target.name.text,
        field=field_name,
        start=start,
        end=end,
        matched_text=target_text[start:end],
        programs=list(entity.programs),
        rule=target.rule.value,
    )


_FIELD_ORDER: Final = {name: i for i, name in enumerate(SCREENED_FIELDS)}


def _hit_order(hit: Hit) -> tuple[int, int, int, str, str]:
    """Hits of an event in field order, then by position: the order a reader scans the event."""
    return (_FIELD_ORDER[hit.field], hit.start, hit.end, hit.entity_id, hit.matched_name)


def _decode_all(
    raws: Sequence[bytes | None], max_event_bytes: int
) -> tuple[list[PaymentEvent | None], dict[int, str], list[str]]:
    """Decode and validate each input; lay out the five screened texts of each (empty if invalid).

    This loop is the only per-event Python work of the core: keep it lean.
    """
    events: list[PaymentEvent | None] = [None] * len(raws)
    errors: dict[int, str] = {}
    texts: list[str] = []  # five per input, in SCREENED_FIELDS order; slot = input * 5 + field
    extend = texts.extend
    decode = decode_event
    for i, raw in enumerate(raws):
        if not raw:
            errors[i] = "empty message"
            extend(_EMPTY)
            continue
        if len(raw) > max_event_bytes:
            errors[i] = f"event is {len(raw)} bytes, larger than the {max_event_bytes}-byte limit"
            extend(_EMPTY)
            continue
        try:
            event = decode(raw)
        except msgspec.MsgspecError as exc:
            errors[i] = explain(exc, raw)
            extend(_EMPTY)
            continue
        amount = event.amount
        if amount.__class__ is str and amount_ok(amount) is None:
            errors[i] = bad_amount(amount)
            extend(_EMPTY)
            continue
        events[i] = event
        debtor, creditor = event.debtor, event.creditor
        dagent, cagent = debtor.agent, creditor.agent
        extend(
            (
                debtor.name,
                creditor.name,
                (dagent.name or "") if dagent is not None else "",
                (cagent.name or "") if cagent is not None else "",
                event.remittance or "",
            )
        )
    _reject_blank_names(events, errors, texts)
    return events, errors, texts


def _reject_blank_names(events: list[PaymentEvent | None], errors: dict[int, str], texts: list[str]) -> None:
    """Dead-letter events whose debtor or creditor name is only whitespace (checked per batch in C)."""
    for field_index in (0, 1):
        names = texts[field_index::_FIELDS]
        if not any(map(str.isspace, names)):
            continue
        for i, name in enumerate(names):
            if name.isspace() and events[i] is not None:
                errors[i] = f"{SCREENED_FIELDS[field_index]} must not be blank"
                events[i] = None
                texts[i * _FIELDS : i * _FIELDS + _FIELDS] = _EMPTY


def _scan(texts: list[str], events: Sequence[PaymentEvent | None], collector: _HitCollector) -> None:
    """Fold and search all texts: ASCII on bytes, accented Latin without the Unicode path, the rest in full.

    Texts that leave the ASCII batch are blanked in ``texts`` (their slot keeps its place). A text's
    other readings (ignorables, punctuation inside words, single letters apart) take the Unicode fold.
    """
    _scan_readings(texts, events, collector)
    plain = list(map(str.isascii, texts))
    if not all(plain):
        simple_texts: list[str] = []
        simple_slots: list[int] = []
        uni_texts: list[str] = []
        uni_slots: list[int] = []
        not_simple = not_simple_search()
        slot = plain.index(False)
        while slot >= 0:
            text = texts[slot]
            texts[slot] = ""
            if not_simple(text) is None:
                simple_texts.append(text)
                simple_slots.append(slot)
            else:
                uni_texts.append(text)
                uni_slots.append(slot)
            try:
                slot = plain.index(False, slot + 1)
            except ValueError:
                slot = -1
        if simple_texts:
            collector.collect(fold_simple_batch(simple_texts), simple_texts, simple_slots, events)
        if uni_texts:
            collector.collect(fold_batch(uni_texts).encode("utf-8"), uni_texts, uni_slots, events)
    collector.collect(fold_ascii_batch(texts), texts, None, events)


def _scan_readings(
    texts: Sequence[str], events: Sequence[PaymentEvent | None], collector: _HitCollector
) -> None:
    """Fold and search the other readings of every text that has some (policy a): ASCII ones on bytes."""
    found: dict[bool, tuple[list[str], list[int], list[tuple[str, int]]]] = {
        True: ([], [], []),
        False: ([], [], []),
    }
    for slot in may_have_readings(texts):
        text = texts[slot]
        for which, (reading, _) in enumerate(readings(text)):
            reading_texts, reading_slots, origins = found[reading.isascii()]
            reading_texts.append(reading)
            reading_slots.append(slot)
            origins.append((text, which))
    for ascii_only, (reading_texts, reading_slots, origins) in found.items():
        if reading_texts:
            batch = (
                fold_ascii_batch(reading_texts) if ascii_only else fold_batch(reading_texts).encode("utf-8")
            )
            collector.collect(batch, reading_texts, reading_slots, events, origins)


def screen_batch(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    *,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> BatchResult:
    """Screen a batch of raw event values; ``source_of(i)`` names input ``i`` in its dead letter.

    The native triage first clears, in one call, every event it can prove clean (valid, no key in
    its texts); the rest take :func:`screen_batch_full`, which decides (see the module docstring).
    """
    screened_at = timestamp(now)
    inputs: list[bytes | None] = raws if isinstance(raws, list) else list(raws)
    n = len(inputs)
    codes, texts, owners = automaton.triage.sort(inputs, max_event_bytes)
    if texts:  # texts only Python folds: their events are clean unless one of them holds a key
        marked = bytearray(codes)
        for k in _texts_with_keys(texts, automaton):
            marked[owners[k]] = _FULL_PATH
        codes = bytes(marked.translate(_CHECKED_IS_CLEAN))
    if codes.count(_CLEAN) == n:
        cleared: list[bytes] = list(inputs)  # type: ignore[arg-type]  # the triage clears bytes only
        return BatchResult([Verdict.CLEARED] * n, cleared, {}, {}, automaton.version, screened_at)
    full = [m.start() for m in _NEEDS_FULL_PATH.finditer(codes)]  # a scan in C, a step per such event
    sub_source = None if source_of is None else (lambda k: source_of(full[k]))
    sub = _screen_full([inputs[i] for i in full], automaton, screened_at, sub_source, max_event_bytes)
    if len(full) == n:
        return sub
    verdicts = [Verdict.CLEARED] * n
    values: list[bytes] = list(inputs)  # type: ignore[arg-type]  # None only where the full path decided
    for k, i in enumerate(full):
        verdicts[i] = sub.verdicts[k]
        values[i] = sub.values[k]
    hits = {full[k]: event_hits for k, event_hits in sub.hits.items()}
    errors = {full[k]: error for k, error in sub.errors.items()}
    return BatchResult(verdicts, values, hits, errors, automaton.version, screened_at)


#: ``Triage.sort`` codes: certainly clean, take the full path, clean unless a handed-back text has a key.
_CLEAN: Final = 0
_FULL_PATH: Final = 1
_CHECKED_IS_CLEAN: Final = bytes([0, 1, 0]) + bytes(range(3, 256))
_NEEDS_FULL_PATH: Final = re.compile(rb"[^\x00]")


def _texts_with_keys(texts: list[str], automaton: NameAutomaton) -> set[int]:
    """Which of ``texts`` hold a key once folded (any key: the full path then applies the rules).

    These are the texts the triage could not fold (other scripts, invisible characters, a NUL),
    so they take the Unicode batch fold, all in one pass.
    """
    owners = list(range(len(texts)))
    every = list(texts)
    for k in may_have_readings(texts):  # and their other readings (policy a), owned by the same text
        for reading, _ in readings(texts[k]):
            every.append(reading)
            owners.append(k)
    batch = fold_batch(every).encode("utf-8")
    # A whole-field key starts on its text's leading NUL: count it in.
    return {owners[batch.count(_SEP_BYTES, 0, found.start + 1) - 1] for found in automaton.find(batch)}


def screen_batch_full(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    *,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> BatchResult:
    """:func:`screen_batch` without the native triage: every event takes the full Python path.

    The reference the fast path is tested against; the same verdicts and outputs, only slower.
    """
    return _screen_full(raws, automaton, timestamp(now), source_of, max_event_bytes)


def _screen_full(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    screened_at: str,
    source_of: SourceOf | None,
    max_event_bytes: int,
) -> BatchResult:
    events, errors, texts = _decode_all(raws, max_event_bytes)
    collector = _HitCollector(automaton)
    _scan(texts, events, collector)
    verdicts = [Verdict.CLEARED] * len(raws)
    values: list[bytes] = list(raws)  # type: ignore[arg-type]  # None only where dead-lettered below
    version = automaton.version
    for i, hits in collector.hits.items():
        hits.sort(key=_hit_order)
        verdicts[i] = Verdict.BLOCKED
        values[i] = encode_blocked(raws[i] or b"", hits, version, screened_at)
    for i, error in errors.items():
        verdicts[i] = Verdict.DEAD_LETTER
        values[i] = encode_dead_letter(raws[i], error, source_of(i) if source_of else {}, screened_at)
    return BatchResult(verdicts, values, collector.hits, errors, version, screened_at)


def check_text(
    text: str,
    automaton: NameAutomaton,
    *,
    field_name: str = "remittance",
    at: datetime | None = None,
) -> list[Hit]:
    """The hits for one string screened as ``field_name`` (for analysts: ``txscreen check``)."""
    hits: list[Hit] = []
    for reading, positions in [(text, None), *readings(text, positions=True)]:  # policy a
        hits += _check_reading(text, reading, positions, automaton, field_name=field_name, at=at)
    unique = {(h.entity_id, h.matched_name, h.start, h.end): h for h in hits}
    return list(unique.values())


def _check_reading(
    text: str,
    reading: str,
    positions: list[int] | None,
    automaton: NameAutomaton,
    *,
    field_name: str,
    at: datetime | None,
) -> list[Hit]:
    """:func:`check_text` of one reading of ``text`` (offsets into ``text``)."""
    batch = f"{BATCH_SEPARATOR} {fold(reading)} {BATCH_SEPARATOR}".encode()
    hits: list[Hit] = []
    spans = FoldMap(reading, positions)
    for found in sorted(automaton.find(batch), key=lambda f: f.start):
        local = len(batch[2 : found.start + key_core_offset(found.key)].decode("utf-8"))
        for index, target in enumerate(found.targets):
            if target.rule is MatchRule.WHOLE_FIELD and field_name not in PARTY_NAME_FIELDS:
                continue
            if at is not None and not target.entity.in_force(at):
                continue
            hits.append(
                make_hit(
                    target_text=text,
                    folded=spans,
                    local=local,
                    found=found,
                    target_index=index,
                    field_name=field_name,
                )
            )
    return hits
