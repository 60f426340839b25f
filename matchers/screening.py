"""The screening step: a pure function from a batch of raw event values to one verdict each.

``screen_batch(raws, automaton, now)`` knows nothing about files or Kafka: runners move
bytes in and out. It works in three tiers, each only for what the one before could not settle:

1. The native triage (``matchers._native``, one call per batch) clears every event it can
   prove clean: valid by the schema and :mod:`schemas.json_shape` (no repeated key, at most 64
   levels), its texts, their other readings and a party name's inverted reading (``REST, FIRST``)
   folded there (any script of the Basic Multilingual Plane, from
   :func:`matchers.normalize.native_fold_table`) and holding no key (but anchors of the fuzzy tier
   whose verification fails there, on the window :func:`_verify_anchor` cuts).
2. Texts only Python folds (invisible characters, controls, characters beyond the Basic
   Multilingual Plane, the few mixes of marks or look-alikes the table cannot read exactly) come
   back from the triage and are folded and searched, with their other readings (policy a), in one
   pass per batch; their events are clean if none holds a key.
3. The rest (invalid or doubtful input, any key found) takes :func:`screen_batch_full`: the
   depth check, msgspec decoding and validation, the repeated-key check, batch folds, one
   automaton pass, and the slow path that maps a hit's offsets back to the original field
   text. It decides every verdict that is not "clean". Of a valid event it screens only the
   fields the triage names (``Triage.key_fields``: those holding a key, a verifying anchor or a
   text only Python reads); the others hold no key, so they cannot hit.

Per-message failures are values: an input that is not a valid payment event gets the
verdict ``DEAD_LETTER`` with a reason; nothing raises out of the loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, Final, Protocol

import msgspec

from matchers.automaton import AnchorReach, NameAutomaton, Target, key_core_offset
from matchers.fuzzy import MAX_BUDGET, verify
from matchers.inversion import field_span, inverted
from matchers.normalize import (
    BATCH_SEPARATOR,
    FoldMap,
    fold,
    fold_ascii_batch,
    fold_batch,
    fold_simple_batch,
    not_simple_search,
    readings,
    readings_of_many,
)
from matchers.oversized import dead_letter_oversized
from matchers.policy import HitRank, HitRule, HitSpan, MatchRule, hit_rank, settle
from matchers.triage import ALL_FIELDS, TriageCode
from matchers.watchlist import EntityType, NameStrength
from schemas.events import (
    MAX_EVENT_BYTES,
    PARTY_NAME_FIELDS,
    SCREENED_FIELDS,
    PaymentEvent,
    decode_batch,
)
from schemas.records import (
    IN_FORCE_AT_BOTH,
    MAX_HITS_PER_RECORD,
    Hit,
    Verdict,
    encode_blocked,
    encode_dead_letter,
    screening_time,
    timestamp,
)

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
    #: Per blocked input, how many hits it has; ``hits`` lists at most the first ``MAX_HITS_PER_RECORD``.
    hits_total: dict[int, int] = field(default_factory=dict)

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


class _Dated(Protocol):
    """What the collector needs of an event: when it was created."""

    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class _CheckedText:
    """A text screened on its own (``check_text``), dated as an event would be."""

    created_at: datetime


#: What a key index stands for: its folded form, where the form starts in the key, its targets, and how
#: far the forms it is an anchor of reach around a find (``None``: not an anchor of the fuzzy tier).
_KeyInfo = tuple[str, int, tuple[Target, ...], AnchorReach | None]

#: A hit before it is mapped back to the original text: its rank, target, rule-f answer and folded form.
_Pending = tuple[HitRank, Target, str, str]
#: A fuzzy find before it is mapped back: its distance, rank, target, rule-f answer and folded span text.
_FuzzyPending = tuple[int, HitRank, Target, str, str]

#: ``origins[k][1]`` of a party field's inverted reading (:mod:`matchers.inversion`); its variant is -1.
INVERTED: Final = -2
_INVERTED_VARIANT: Final = INVERTED + 1


class _HitCollector:
    """Turns automaton finds in batch strings into hits, per event: dated, collapsed and capped.

    Rule f: a target counts when its entity is in force at the event's ``created_at`` or at ``now``
    (the screening time). Rule g: the finds of one entity over one span of one field collapse into
    one hit, the strongest (:func:`matchers.policy.hit_rank`). A record lists at most ``cap`` hits,
    the first in hit order. Only the first ``cap`` candidates of each text are kept and mapped back
    to the original text; later finds in that text are only counted (one dict look-up per find),
    so an event that repeats a listed name costs little per repeat. A find of a fuzzy anchor (no exact
    target) that fails verification is no candidate: it is neither kept nor counted.
    Without ``now`` (``check_text`` with no date), dates are not checked and every hit says ``both``.
    """

    def __init__(
        self,
        automaton: NameAutomaton,
        now: datetime | None,
        cap: int | None = MAX_HITS_PER_RECORD,
        *,
        weak_alone: bool = False,
    ) -> None:
        self.hits: dict[int, list[Hit]] = {}
        self.totals: dict[int, int] = {}
        self._automaton = automaton
        self._now = now
        self._cap = cap
        self._weak_alone = weak_alone
        # event -> (field, variant, folded start, folded end, entity id) -> the closest fuzzy find there
        self._fuzzy: dict[int, dict[tuple[int, int, int, int, str], _FuzzyPending]] = {}
        # event -> (field, folded start, folded end, entity id) -> the strongest find there
        # (a reading's folded positions are its own: ``variant`` tells the readings of a text apart)
        self._pending: dict[int, dict[tuple[int, int, int, int, str], _Pending]] = {}
        self._counted: dict[int, int] = {}  # event -> hits found beyond the kept candidates
        # (slot, reading) -> the text searched, the batch and offset of its fold, and for a reading
        # (policy a; reading 0 is the text itself) the original field text (texts with a find only)
        self._texts: dict[tuple[int, int], tuple[str, bytes, int, str | None]] = {}
        self._keys: dict[int, _KeyInfo] = {}
        self._ranks: dict[int, HitRank] = {}  # id(target) -> rank (targets live as long as the automaton)
        self._readings: dict[str, list[tuple[str, list[int] | None]]] = {}  # a text's, with positions
        self._fold_positions = automaton.triage.fold_positions  # the native way back, where it folds

    def collect(  # noqa: PLR0912, PLR0915  # one hot loop over the finds: helpers would cost a call per find
        self,
        batch: bytes,
        texts: Sequence[str],
        slots: Sequence[int] | None,
        events: Sequence[_Dated | None],
        origins: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        """Finds in one folded batch (UTF-8) of ``texts``; ``slots[k]`` is text k's event*5+field.

        When ``texts`` are readings, ``origins[k]`` is text k's original field text and which of its
        :func:`readings` it is (positions are worked out only for a reading that hits).
        """
        finds = self._automaton.find_keys(batch)
        if not finds:
            return
        finds.sort(key=_START)
        verified = self._verified(batch, finds, len(texts), slots)
        if isinstance(verified, _AnchorsVerified):
            finds = verified.finds
        ascii_batch = batch.isascii()
        cap = self._cap if self._cap is not None else len(finds) + 1
        keys = self._keys
        anchors_of = self._automaton.anchors_of
        folded_text: str | None = None
        index, counted_to, next_sep = 0, 0, -1
        base = byte_at = char_at = kept = last = 0
        event: _Dated | None = None
        slot = variant = 0
        passing: dict[int, int] = {}
        for position, (key_index, start, end) in enumerate(finds):
            if start >= next_sep:  # a later text (a whole-field key starts on its text's opening NUL)
                sep = start if batch[start] == _SEP else batch.rfind(_SEP_BYTES, 0, start)
                index += batch.count(_SEP_BYTES, counted_to, sep)
                counted_to = sep
                next_sep = batch.find(_SEP_BYTES, sep + 1)
                slot = slots[index] if slots is not None else index
                event = events[slot // _FIELDS]
                base = byte_at = sep + 2
                char_at = kept = 0
                last = -1
                passing = {}
                folded_text = None  # decoded when an anchor or an inverted reading needs it
                origin = None if origins is None else origins[index]
                variant = 0 if origin is None else origin[1] + 1
                if event is not None:
                    self._texts[slot, variant] = (texts[index], batch, base, origin and origin[0])
            if event is None:
                continue
            info = keys.get(key_index)
            if info is None:
                key = batch[start:end].decode("utf-8")
                info = keys[key_index] = (
                    key.strip(_KEY_MARKS),
                    key_core_offset(key),
                    self._automaton.targets_of(key_index),
                    anchors_of(key_index),
                )
            pos = start + info[1]
            # Offsets are in bytes; within the folded text they are needed in characters.
            if ascii_batch:
                local = pos - base
            else:
                if pos < byte_at:
                    byte_at, char_at = base, 0
                local = char_at + len(batch[byte_at:pos].decode("utf-8"))
                byte_at, char_at = pos, local
            uses = info[3]
            if (uses is not None or variant == _INVERTED_VARIANT) and folded_text is None:
                folded_text = batch[base : next_sep - 1].decode("utf-8")
            if variant == _INVERTED_VARIANT and (  # an inverted party field: whole-field finds, exact only
                uses is not None or local != 0 or len(info[0]) != len(folded_text or "")
            ):
                continue
            if kept >= cap and local > last:  # after this text's first `cap` candidates: count only
                count = passing.get(key_index)
                if count is None:
                    count = passing[key_index] = self._passing(slot, event.created_at, info[2])
                if count:
                    self._counted[slot // _FIELDS] = self._counted.get(slot // _FIELDS, 0) + count
                continue
            if info[2]:  # an anchor of the fuzzy tier only has no exact targets
                kept += self._note(slot, variant, event.created_at, local, info)
            if uses is not None and folded_text is not None:  # an anchor of the fuzzy tier: verify it
                found = (
                    _verify_anchor(
                        self._automaton,
                        (key_index, uses),
                        folded_text,
                        local,
                        party=slot % _FIELDS in _PARTY_SLOTS,
                    )
                    if verified is None
                    else self._found(verified.at(position))
                )
                if found:
                    kept += self._note_fuzzy(slot, variant, event.created_at, found, folded_text)
                elif not info[2]:
                    continue  # a fuzzy anchor whose find fails is no candidate: it moves nothing
            last = local

    def _verified(
        self, batch: bytes, finds: list[tuple[int, int, int]], count: int, slots: Sequence[int] | None
    ) -> _AnchorChecks | _AnchorsVerified | None:
        """The native verification of the anchor finds in ``finds`` (``None`` without the native index:
        each find is then verified in Python as it comes): all at once, and the finds of anchors only
        that fail left out, for a batch of at most :data:`_VERIFY_AT_ONCE` such finds (the full path's
        batches: most of their anchor finds fail, and each costs a step of the loop); else a chunk at a
        time, as the collector reaches them (a text that repeats a name thousands of times)."""
        index = self._automaton.fuzzy_index
        if index is None:
            return None
        party = [(slots[k] if slots is not None else k) % _FIELDS in _PARTY_SLOTS for k in range(count)]
        anchors_from = self._automaton.anchors_from
        if sum(key >= anchors_from for key, _, _ in finds) > _VERIFY_AT_ONCE:
            return _AnchorChecks(index, batch, finds, party)
        return _AnchorsVerified(index.verify_finds(batch, finds, party), finds, anchors_from)

    def _found(self, verified: list[tuple[int, int, int, int]] | None) -> list[tuple[Target, int, int, int]]:
        """``(target, start, end, distance)`` of a find's verified fuzzy forms."""
        if not verified:
            return []
        form = self._automaton.fuzzy_target
        return [(form(i).target, start, end, d) for i, start, end, d in verified]

    def _passing(self, slot: int, created: datetime, targets: Sequence[Target]) -> int:
        """How many entities of ``targets`` rules e and f let hit in text ``slot``."""
        party = slot % _FIELDS in _PARTY_SLOTS
        now = self._now
        return len(
            {
                target.entity.id
                for target in targets
                if (party or target.rule is not MatchRule.WHOLE_FIELD)
                and target.name.strength is not NameStrength.WEAK
                and (now is None or target.entity.in_force_at(created, now) is not None)
            }
        )

    def _note(self, slot: int, variant: int, created: datetime, local: int, info: _KeyInfo) -> int:
        """Keep, per entity, the strongest target rules e and f let hit; how many new candidates."""
        event_index, field_index = divmod(slot, _FIELDS)
        party = field_index in _PARTY_SLOTS
        form, _, targets, _ = info
        end = local + len(form)
        pending = self._pending.get(event_index)
        added = 0
        for target in targets:
            if target.rule is MatchRule.WHOLE_FIELD and not party:
                continue
            entity = target.entity
            if variant == _INVERTED_VARIANT and entity.type is not EntityType.INDIVIDUAL:
                continue  # comma inversion reads names of individuals only
            dated = self._dated(target, created)
            if dated is None:
                continue
            when, rank = dated
            if pending is None:
                pending = self._pending[event_index] = {}
            span = (field_index, variant, local, end, entity.id)
            held = pending.get(span)
            if held is None:
                added += 1
            if held is None or rank < held[0]:
                pending[span] = (rank, target, when, form)
        return added

    def _dated(self, target: Target, created: datetime) -> tuple[str, HitRank] | None:
        """Rule f's answer for ``target`` (``None``: in force neither at ``created`` nor now) and its rank."""
        entity = target.entity
        when = entity.in_force_at(created, self._now) if self._now is not None else IN_FORCE_AT_BOTH
        if when is None:
            return None
        rank = self._ranks.get(id(target))
        if rank is None:
            rank = self._ranks[id(target)] = hit_rank(target.name, target.rule, entity.names)
        return when, rank

    def _note_fuzzy(
        self, slot: int, variant: int, created: datetime, found: list[tuple[Target, int, int, int]], text: str
    ) -> int:
        """Of the fuzzy forms an anchor find verified (``(target, start, end, distance)`` in ``text``),
        keep, per span and entity, the closest (then strongest) that rules e and f let hit; how many
        new candidates."""
        event_index, field_index = divmod(slot, _FIELDS)
        added = 0
        for target, start, end, distance in found:
            dated = self._dated(target, created)
            if dated is None:
                continue
            when, rank = dated
            pending = self._fuzzy.setdefault(event_index, {})
            span = (field_index, variant, start, end, target.entity.id)
            held = pending.get(span)
            if held is None:
                added += 1
            if held is None or (distance, rank) < held[:2]:
                pending[span] = (distance, rank, target, when, text[start:end])
        return added

    def finish(self) -> None:
        """Map each event's finds back to its original texts, settle them (weak aliases corroborate,
        fuzzy finds yield to exact hits), keep the first hits and count the rest."""
        cap = self._cap
        maps: dict[tuple[int, int], tuple[FoldMap, int]] = {}
        for event_index in sorted(self._pending.keys() | self._fuzzy.keys()):
            exact: dict[HitSpan, tuple[HitRank, Hit]] = {}
            for span, (rank, target, when, form) in self._pending.get(event_index, {}).items():
                hit = self._hit(maps, event_index, span, form=form, target=target, when=when)
                marker = (hit.entity_id, hit.field, hit.start, hit.end)
                held = exact.get(marker)
                if held is None or rank < held[0]:
                    exact[marker] = (rank, hit)
            fuzzy: dict[HitSpan, tuple[tuple[int, HitRank], Hit]] = {}
            for span, (distance, rank, target, when, form) in self._fuzzy.get(event_index, {}).items():
                hit = self._hit(
                    maps, event_index, span, form=form, target=target, when=when, distance=distance
                )
                marker = (hit.entity_id, hit.field, hit.start, hit.end)
                held_fuzzy = fuzzy.get(marker)
                if held_fuzzy is None or (distance, rank) < held_fuzzy[0]:
                    fuzzy[marker] = ((distance, rank), hit)
            rules = settle(
                {marker: bool(rank[0]) for marker, (rank, _) in exact.items()},
                {marker: order for marker, (order, _) in fuzzy.items()},
                weak_alone=self._weak_alone,
            )
            hits = []
            for marker, rule in rules.items():
                hit = exact[marker][1] if marker in exact and rule is not HitRule.FUZZY else fuzzy[marker][1]
                if rule is HitRule.CORROBORATING:
                    hit = msgspec.structs.replace(hit, rule=rule.value)
                hits.append(hit)
            if not hits:
                continue
            hits.sort(key=_hit_order)
            self.hits[event_index] = hits if cap is None else hits[:cap]
            self.totals[event_index] = len(hits) + self._counted.get(event_index, 0)
        self._pending.clear()
        self._fuzzy.clear()

    def _hit(
        self,
        maps: dict[tuple[int, int], tuple[FoldMap, int]],
        event_index: int,
        span: tuple[int, int, int, int, str],
        *,
        form: str,
        target: Target,
        when: str,
        distance: int | None = None,
    ) -> Hit:
        """The hit of one find, its offsets mapped back to the original field text."""
        field_index, variant, local, end, _ = span
        text_key = (event_index * _FIELDS + field_index, variant)
        folded, covered = maps.get(text_key, (None, 0))
        if folded is None or end > covered:
            folded, covered = maps[text_key] = self._fold_map(text_key, max(end, 2 * covered))
        text, _, _, origin = self._texts[text_key]
        hit = make_hit(
            target_text=text if origin is None else origin,
            folded=folded,
            local=local,
            form=form,
            target=target,
            field_name=SCREENED_FIELDS[field_index],
            in_force_at=when,
            distance=distance,
        )
        if variant == _INVERTED_VARIANT and origin is not None:  # the whole field, as written
            start, stop = field_span(origin)
            hit = msgspec.structs.replace(hit, start=start, end=stop, matched_text=origin[start:stop])
        return hit

    def _fold_map(self, text_key: tuple[int, int], upto: int) -> tuple[FoldMap, int]:
        """A :class:`FoldMap` of a text right for folded offsets up to ``upto``, and up to where.

        A long text whose hits are all near its start is mapped by a prefix, cut at whitespace, when the
        prefix folds to the start of the text's fold (checked against the batch, last word left out).
        A reading is mapped whole, through its positions in the original text.
        """
        text, batch, start, origin = self._texts[text_key]
        if origin is not None and text_key[1] == _INVERTED_VARIANT:
            whole = FoldMap(text, native=self._fold_positions)
            return whole, len(whole.folded)
        if origin is not None:
            found = self._readings.get(origin)
            if found is None:
                found = self._readings[origin] = readings(origin, positions=True)
            positions = found[text_key[1] - 1][1]
            reading = FoldMap(text, positions, native=self._fold_positions)
            return reading, len(reading.folded)
        cut = 2 * upto + 64
        while cut < len(text):
            space = _SPACE.search(text, cut)
            if space is None:
                break
            prefix = FoldMap(text[: space.start()], native=self._fold_positions)
            good = prefix.folded.rfind(" ")  # the last word may fold otherwise in the whole text
            head = prefix.folded[:good].encode("utf-8")
            if good >= upto and batch[start : start + len(head)] == head:
                return prefix, good
            cut = 2 * space.end()
        whole = FoldMap(text, native=self._fold_positions)
        return whole, len(whole.folded)


#: How many finds :class:`_AnchorChecks` hands the native verification in its first call (then twice
#: as many in each further call: a text with a million finds costs a few calls, not thousands).
_VERIFY_CHUNK: Final = 256


class _AnchorChecks:
    """The native verification of a batch's anchor finds (``FuzzyIndex.verify_finds``), a chunk of finds
    per call as the collector reaches them: a text past its cap of candidates is only counted, so a text
    that repeats a name 150,000 times has its later finds verified by none."""

    __slots__ = ("_batch", "_end", "_finds", "_found", "_index", "_party", "_size", "_start")

    def __init__(
        self, index: Any, batch: bytes, finds: list[tuple[int, int, int]], party: list[bool]
    ) -> None:
        self._index, self._batch, self._finds, self._party = index, batch, finds, party
        self._start = self._end = 0
        self._size = _VERIFY_CHUNK
        self._found: dict[int, list[tuple[int, int, int, int]]] = {}

    def at(self, position: int) -> list[tuple[int, int, int, int]] | None:
        """``(form id, start, end, distance)`` of the forms the anchor find ``finds[position]`` verified."""
        if not self._start <= position < self._end:
            self._start, self._end = position, position + self._size
            self._size *= 2
            chunk = self._finds[position : self._end]
            self._found = self._index.verify_finds(self._batch, chunk, self._party)
        return self._found.get(position - self._start)


class _AnchorsVerified:
    """Every anchor find of a batch verified in one native call: the finds without those of anchors only
    (no exact target) that fail, and what each kept anchor find verified (by its position among them)."""

    __slots__ = ("_found", "finds")

    def __init__(
        self,
        found: dict[int, list[tuple[int, int, int, int]]],
        finds: list[tuple[int, int, int]],
        anchors_from: int,
    ) -> None:
        kept = [i for i, find in enumerate(finds) if find[0] < anchors_from or i in found]
        self.finds = [finds[i] for i in kept]
        self._found = {k: found[i] for k, i in enumerate(kept) if i in found}

    def at(self, position: int) -> list[tuple[int, int, int, int]] | None:
        """``(form id, start, end, distance)`` of the forms the anchor find ``finds[position]`` verified."""
        return self._found.get(position)


#: At most this many anchor finds in a batch are verified in one call, and those that fail left out of
#: the collector's loop (the full path's batches hold a few thousand); a batch with more (a text that
#: repeats a name) is verified a chunk at a time as the loop reaches its finds.
_VERIFY_AT_ONCE: Final = 8192

_START: Final = itemgetter(1)
_KEY_MARKS: Final = f" {BATCH_SEPARATOR}"
_SPACE: Final = re.compile(r"\s")


def _verify_anchor(
    automaton: NameAutomaton, key: tuple[int, AnchorReach], text: str, local: int, *, party: bool
) -> list[tuple[Target, int, int, int]]:
    """``(target, start, end, distance)`` of each fuzzy form of the anchor found at ``local`` in the
    folded ``text`` with a span within its budget (:func:`matchers.fuzzy.verify`): natively, on the
    text within the anchor's reach, when the extension has it."""
    key_index, (before, after) = key
    size = len(text)
    index = automaton.fuzzy_index
    if index is not None:
        lo = max(0, local - before - MAX_BUDGET - 1)
        hi = min(size, local + after + MAX_BUDGET + 1)
        found = index.verify(key_index, text[lo:hi], local - lo, party, lo == 0 and hi == size)
        form = automaton.fuzzy_target
        return [(form(i).target, lo + start, lo + end, d) for i, start, end, d in found]
    out = []
    for fuzzy_target, offset in automaton.anchor_uses(key_index):
        fuzzy = fuzzy_target.fuzzy
        at, k = local - offset, fuzzy.k
        if at + k < 0 or at + len(fuzzy.form) - k > size:  # the form cannot fit around the anchor
            continue
        target = fuzzy_target.target
        whole = target.rule is MatchRule.WHOLE_FIELD
        if whole and not party:
            continue
        out += [(target, start, end, d) for start, end, d in verify(text, fuzzy, at, whole=whole)]
    return out


def make_hit(
    *,
    target_text: str,
    folded: FoldMap,
    local: int,
    form: str,
    target: Target,
    field_name: str,
    in_force_at: str,
    distance: int | None = None,
) -> Hit:
    """A hit with offsets into the original field text, mapped back through a :class:`FoldMap`.

    ``distance``: a fuzzy hit's (``form`` is then the folded text it covers); else an exact hit.
    """
    norm = folded.folded
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
        rule=target.rule.value if distance is None else HitRule.FUZZY.value,
        in_force_at=in_force_at,
        distance=distance,
    )


_FIELD_ORDER: Final = {name: i for i, name in enumerate(SCREENED_FIELDS)}


def _hit_order(hit: Hit) -> tuple[int, int, int, str, str]:
    """Hits of an event in field order, then by position: the order a reader scans the event."""
    return (_FIELD_ORDER[hit.field], hit.start, hit.end, hit.entity_id, hit.matched_name)


def _scan(texts: list[str], events: Sequence[PaymentEvent | None], collector: _HitCollector) -> None:
    """Fold and search all texts: ASCII on bytes, accented Latin without the Unicode path, the rest in full.

    Texts that leave the ASCII batch are blanked in ``texts`` (their slot keeps its place). A text's
    other readings (ignorables, punctuation inside words, single letters apart) are searched too.
    """
    _scan_readings(texts, events, collector)
    _scan_inversions(texts, events, collector)
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


def _scan_readings(texts: Sequence[str], events: Sequence[_Dated | None], collector: _HitCollector) -> None:
    """Fold and search the other readings of every text that has some (policy a): ASCII ones on bytes."""
    found: dict[bool, tuple[list[str], list[int], list[tuple[str, int]]]] = {
        True: ([], [], []),
        False: ([], [], []),
    }
    which, last = 0, -1
    for slot, reading in readings_of_many(texts):
        which = which + 1 if slot == last else 0  # the reading's place in readings(texts[slot])
        last = slot
        reading_texts, reading_slots, origins = found[reading.isascii()]
        reading_texts.append(reading)
        reading_slots.append(slot)
        origins.append((texts[slot], which))
    for ascii_only, (reading_texts, reading_slots, origins) in found.items():
        if reading_texts:
            batch = (
                fold_ascii_batch(reading_texts) if ascii_only else fold_batch(reading_texts).encode("utf-8")
            )
            collector.collect(batch, reading_texts, reading_slots, events, origins)


def _scan_inversions(texts: Sequence[str], events: Sequence[_Dated | None], collector: _HitCollector) -> None:
    """Search the inverted reading of each party field written ``REST, FIRST`` (:mod:`matchers.inversion`)."""
    found_texts: list[str] = []
    found_slots: list[int] = []
    origins: list[tuple[str, int]] = []
    for party in _PARTY_SLOTS:
        for slot in range(party, len(texts), _FIELDS):
            text = texts[slot]
            if "," in text:
                reading = inverted(text)
                if reading is not None:
                    found_texts.append(reading)
                    found_slots.append(slot)
                    origins.append((text, INVERTED))
    if found_texts:
        collector.collect(fold_batch(found_texts).encode("utf-8"), found_texts, found_slots, events, origins)


def screen_batch(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    *,
    max_event_bytes: int = MAX_EVENT_BYTES,
    max_output_bytes: int | None = None,
    cut: Mapping[int, int] | None = None,
) -> BatchResult:
    """Screen a batch of raw event values at ``now``; ``source_of(i)`` says where input ``i`` came from.

    ``now`` is the screening time (rule f; the engines pass their clock, ``None`` reads it here);
    ``source_of`` is called only for blocked and dead-lettered inputs, for their records' ``source``.
    The native triage first clears, in one call, every event it can prove clean (valid, no key in
    its texts); the rest take :func:`screen_batch_full`, which decides (see the module docstring).

    The result is final: ``errors[i]`` always says why ``values[i]`` is a dead letter.
    ``max_output_bytes``: an output value longer than that becomes a dead letter that fits
    (:mod:`matchers.oversized`). ``cut``: inputs a reader cut short, by index, with their true size;
    ``raws[i]`` holds their first bytes, which the dead letter keeps.

    The same as :func:`screen_triaged` of :func:`triage_batch`, its two steps.
    """
    triaged = triage_batch(raws, automaton, max_event_bytes=max_event_bytes, cut=cut)
    return screen_triaged(triaged, now, source_of, max_output_bytes=max_output_bytes)


@dataclass(frozen=True, slots=True)
class Triaged:
    """A batch after the triage's one call (:func:`triage_batch`), for :func:`screen_triaged` to finish.

    The triage reads no clock and the native one runs without the GIL, so a runner may triage its next
    batch on another thread while this one is finished (``txscreen screen`` does: two cores, one each).
    """

    automaton: NameAutomaton
    """The automaton the batch was triaged with; :func:`screen_triaged` finishes it with the same one."""
    inputs: list[bytes | None]
    triaged: list[bytes | None]
    """``inputs`` with each cut input as ``None`` (the triage leaves it to the full path)."""
    codes: bytes
    """One :class:`TriageCode` per input."""
    texts: list[str]
    """Texts only Python folds, handed back by the triage; ``owners[k]`` is the input of ``texts[k]``."""
    owners: list[int]
    max_event_bytes: int
    cut: Mapping[int, int] | None


def triage_batch(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    *,
    max_event_bytes: int = MAX_EVENT_BYTES,
    cut: Mapping[int, int] | None = None,
) -> Triaged:
    """The first step of :func:`screen_batch`: the triage's one call over the batch (no clock read)."""
    inputs: list[bytes | None] = raws if isinstance(raws, list) else list(raws)
    triaged = inputs
    if cut:  # a cut input is only its first bytes: the full path dead-letters it by its true size
        triaged = list(inputs)
        for i in cut:
            triaged[i] = None
    codes, texts, owners = automaton.triage.classify(triaged, max_event_bytes)
    return Triaged(automaton, inputs, triaged, codes, texts, owners, max_event_bytes, cut)


def screen_triaged(
    batch: Triaged,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    *,
    max_output_bytes: int | None = None,
) -> BatchResult:
    """The second step of :func:`screen_batch`: decide a triaged batch at ``now`` (see there)."""
    result = _screen(batch, screening_time(now), source_of)
    return _fit(result, batch.inputs, source_of, max_output_bytes)


def _fit(
    result: BatchResult, raws: Sequence[bytes | None], source_of: SourceOf | None, limit: int | None
) -> BatchResult:
    """``result`` with each output over ``limit`` bytes made a dead letter that fits (no limit: as it is)."""
    if limit is not None and result.values and max(map(len, result.values)) > limit:
        result.values = dead_letter_oversized(result, source_of or _nowhere, limit, raw_of=raws.__getitem__)
    return result


def _nowhere(_index: int) -> dict[str, Any]:
    return {}


def _screen(batch: Triaged, now: datetime, source_of: SourceOf | None) -> BatchResult:
    automaton, inputs, triaged, cut = batch.automaton, batch.inputs, batch.triaged, batch.cut
    max_event_bytes = batch.max_event_bytes
    screened_at = timestamp(now)
    n = len(inputs)
    codes, texts, owners = batch.codes, batch.texts, batch.owners
    if texts:  # texts only Python folds: their events are clean unless one of them holds a key
        marked = bytearray(codes)
        for k in _texts_with_keys(texts, automaton):
            marked[owners[k]] = TriageCode.FULL_PATH
        codes = bytes(marked.translate(_CHECKED_IS_CLEAN))
    if codes.count(TriageCode.CLEAN) == n:
        cleared: list[bytes] = list(inputs)  # type: ignore[arg-type]  # the triage clears bytes only
        return BatchResult([Verdict.CLEARED] * n, cleared, {}, {}, automaton.version, screened_at)
    full = [m.start() for m in _NEEDS_FULL_PATH.finditer(codes)]  # a scan in C, a step per such event
    sub_source = None if source_of is None else (lambda k: source_of(full[k]))
    sub_cut = {k: cut[i] for k, i in enumerate(full) if i in cut} if cut else None
    fields = automaton.triage.key_fields([triaged[i] for i in full], max_event_bytes)
    sub = _screen_full(
        [inputs[i] for i in full], automaton, now, sub_source, max_event_bytes, cut=sub_cut, fields=fields
    )
    if len(full) == n:
        return sub
    verdicts = [Verdict.CLEARED] * n
    values: list[bytes] = list(inputs)  # type: ignore[arg-type]  # None only where the full path decided
    for k, i in enumerate(full):
        verdicts[i] = sub.verdicts[k]
        values[i] = sub.values[k]
    hits = {full[k]: event_hits for k, event_hits in sub.hits.items()}
    errors = {full[k]: error for k, error in sub.errors.items()}
    totals = {full[k]: total for k, total in sub.hits_total.items()}
    return BatchResult(verdicts, values, hits, errors, automaton.version, screened_at, totals)


#: A ``bytes.translate`` table: CHECK_TEXTS made CLEAN (its texts were checked, none held a key).
_CHECKED_IS_CLEAN: Final = bytes(TriageCode.CLEAN if c == TriageCode.CHECK_TEXTS else c for c in range(256))
#: Finds each code that is not CLEAN.
_NEEDS_FULL_PATH: Final = re.compile(b"[^" + re.escape(bytes([TriageCode.CLEAN])) + b"]")


def _texts_with_keys(texts: list[str], automaton: NameAutomaton) -> set[int]:
    """Which of ``texts`` hold a key once folded (any key: the full path then applies the rules).

    These are the texts the triage could not fold (other scripts, invisible characters, a NUL),
    so they take the Unicode batch fold, all in one pass, with their other readings (policy a).
    """
    owners = list(range(len(texts)))
    every = list(texts)
    for k, reading in readings_of_many(texts):  # a reading is owned by its text
        every.append(reading)
        owners.append(k)
    batch = fold_batch(every).encode("utf-8")
    # A whole-field key starts on its text's leading NUL: count it in. Separators are counted once
    # over the batch, in order of the finds (a text that repeats a name is not rescanned per find).
    holders: set[int] = set()
    index, counted_to = -1, 0
    for start in sorted(start for _, start, _ in automaton.find_keys(batch)):
        index += batch.count(_SEP_BYTES, counted_to, start + 1)
        counted_to = start + 1
        holders.add(owners[index])
    return holders


def screen_batch_full(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    *,
    max_event_bytes: int = MAX_EVENT_BYTES,
    max_output_bytes: int | None = None,
    cut: Mapping[int, int] | None = None,
) -> BatchResult:
    """:func:`screen_batch` without the native triage: every event takes the full Python path.

    The reference the fast path is tested against; the same verdicts and outputs, only slower.
    """
    result = _screen_full(raws, automaton, screening_time(now), source_of, max_event_bytes, cut=cut)
    return _fit(result, raws, source_of, max_output_bytes)


def _screen_full(
    raws: Sequence[bytes | None],
    automaton: NameAutomaton,
    now: datetime,
    source_of: SourceOf | None,
    max_event_bytes: int,
    *,
    cut: Mapping[int, int] | None = None,
    fields: bytes | None = None,
) -> BatchResult:
    """The full path; ``fields[i]`` (from ``Triage.key_fields``) says which fields of input ``i`` may hold a
    key: the others are not screened (none: every field is)."""
    screened_at = timestamp(now)
    events, errors, texts = decode_batch(raws, max_event_bytes)
    for i, size in (cut or {}).items():  # cut short by the reader: dead by its true size, whatever the head
        errors[i] = f"event is {size} bytes, larger than the {max_event_bytes}-byte limit"
        events[i] = None
        texts[i * _FIELDS : (i + 1) * _FIELDS] = _EMPTY
    if fields is not None:
        _keep_fields(texts, fields)
    collector = _HitCollector(automaton, now)
    _scan(texts, events, collector)
    collector.finish()
    verdicts = [Verdict.CLEARED] * len(raws)
    values: list[bytes] = list(raws)  # type: ignore[arg-type]  # None only where dead-lettered below
    version = automaton.version
    for i, hits in collector.hits.items():
        verdicts[i] = Verdict.BLOCKED
        values[i] = encode_blocked(
            raws[i] or b"",
            hits,
            version,
            screened_at,
            source=source_of(i) if source_of else {},
            hits_total=collector.totals[i],
        )
    for i, error in errors.items():
        verdicts[i] = Verdict.DEAD_LETTER
        values[i] = encode_dead_letter(raws[i], error, source_of(i) if source_of else {}, screened_at)
    return BatchResult(verdicts, values, collector.hits, errors, version, screened_at, collector.totals)


def _keep_fields(texts: list[str], fields: bytes) -> None:
    """Blank each text whose field bit is clear in its event's ``fields`` byte (it holds no key)."""
    for i, mask in enumerate(fields):
        if mask != ALL_FIELDS:
            for field in range(_FIELDS):
                if not mask >> field & 1:
                    texts[i * _FIELDS + field] = ""


def check_text(
    text: str,
    automaton: NameAutomaton,
    *,
    field_name: str = "remittance",
    at: datetime | None = None,
    screened_at: datetime | None = None,
) -> list[Hit]:
    """The hits for one string screened as ``field_name`` (for analysts: ``txscreen check``).

    ``at`` is the payment's date and ``screened_at`` the screening time (rule f: an entity hits when
    in force at either). Without one, the other stands for both; without both, dates are not checked.
    Hits are collapsed as in a blocked record (rule g), but not capped. A weak alias found with no
    other hit of its entity is listed too, with the rule ``corroborating`` (it blocks nothing).
    """
    created = at or screened_at
    batch = f"{BATCH_SEPARATOR} {fold(text)} {BATCH_SEPARATOR}".encode()
    collector = _HitCollector(automaton, screened_at or at, cap=None, weak_alone=True)
    event = _CheckedText(created or datetime.min)
    slot = _FIELD_ORDER[field_name]
    collector.collect(batch, [text], [slot], [event])
    others = [reading for reading, _ in readings(text)]  # policy a
    if others:
        origins = [(text, which) for which in range(len(others))]
        collector.collect(fold_batch(others).encode("utf-8"), others, [slot] * len(others), [event], origins)
    if slot in _PARTY_SLOTS and (reading := inverted(text)) is not None:
        batch = fold_batch([reading]).encode("utf-8")
        collector.collect(batch, [reading], [slot], [event], [(text, INVERTED)])
    collector.finish()
    return collector.hits.get(0, [])
