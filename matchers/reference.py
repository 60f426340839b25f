"""A slow, obviously-correct matcher: the policy written as plain loops, for tests to compare against.

For every field, every entity, every name and every searchable form, it folds the field text
on its own and looks for the form with ``str.find``, checking word boundaries by hand. No
automaton, no batch strings, no shortcuts. Property tests check that the screening core
finds exactly the same hits. The fuzzy tier here tries every run of whole words against every
planned form (no anchors, no windows); the plans (which forms are fuzzy, and their budgets) are the
automaton's own, :func:`matchers.fuzzy.plan`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from matchers.fuzzy import fuzzy_spans, gram_table, plan
from matchers.inversion import field_span, inverted
from matchers.normalize import fold, fold_with_spans, is_cjk, readings
from matchers.policy import (
    HitRank,
    HitRule,
    HitSpan,
    MatchRule,
    fuzzy_forms,
    hit_rank,
    match_rule,
    name_forms,
    settle,
)
from matchers.watchlist import Entity, EntityType, ListedName, Watchlist
from schemas.events import PARTY_NAME_FIELDS

#: (entity_id, field, matched name as listed, start, end) — what a hit is, for comparisons.
HitKey = tuple[str, str, str, int, int]


def _occurrences(form: str, folded: str) -> list[int]:
    """Start positions of ``form`` in ``folded`` as whole words (any position on a CJK edge)."""
    found: list[int] = []
    pos = folded.find(form)
    while pos >= 0:
        end = pos + len(form)
        left_ok = is_cjk(form[0]) or pos == 0 or folded[pos - 1] == " "
        right_ok = is_cjk(form[-1]) or end == len(folded) or folded[end] == " "
        if left_ok and right_ok:
            found.append(pos)
        pos = folded.find(form, pos + 1)
    return found


def _readings_with_spans(fields: Mapping[str, str]) -> list[tuple[str, str, list[tuple[int, int]], bool]]:
    """Each field's readings (the text itself and its others, policy a; a party field written ``REST,
    FIRST`` also inverted): field, fold, each folded character's span in the original text, and
    whether it is the inverted reading (matched only whole, exactly, and reported over the whole field)."""
    out = []
    for field_name, text in fields.items():
        folded, spans = fold_with_spans(text)
        out.append((field_name, folded, spans, False))
        for reading, positions in readings(text, positions=True):
            assert positions is not None
            folded, spans = fold_with_spans(reading)
            out.append((field_name, folded, [(positions[a], positions[b - 1] + 1) for a, b in spans], False))
        flipped = inverted(text) if field_name in PARTY_NAME_FIELDS else None
        if flipped is not None:
            folded = fold(flipped)
            out.append((field_name, folded, [field_span(text)] * len(folded), True))
    return out


_Found = tuple[str, str, list[tuple[int, int]]]  # a field, its folded reading, and the way back


def _exact(
    found: _Found,
    entity: Entity,
    name: ListedName,
    best: dict[HitSpan, tuple[HitRank, str]],
    *,
    flipped: bool,
) -> None:
    """Every exact occurrence of every form of ``name``, kept in ``best`` when the strongest there."""
    field_name, folded, spans = found
    party = field_name in PARTY_NAME_FIELDS
    forms = name_forms(name, entity.type)
    rank = hit_rank(name, forms.rule, entity.names)
    for form in forms.forms:
        if flipped and entity.type is not EntityType.INDIVIDUAL:
            positions = []
        elif flipped or forms.rule is MatchRule.WHOLE_FIELD:
            positions = [0] if party and folded == form else []
        else:
            positions = _occurrences(form, folded)
        for pos in positions:
            span = (entity.id, field_name, spans[pos][0], spans[pos + len(form) - 1][1])
            if span not in best or rank < best[span][0]:
                best[span] = (rank, name.text)


def _fuzzy(
    found: _Found,
    entity: Entity,
    name: ListedName,
    table: Mapping[str, int],
    near: dict[HitSpan, tuple[tuple[int, HitRank], str]],
) -> None:
    """Every run of whole words within the budget of a planned fuzzy form of ``name``, kept in ``near``
    when the closest (then strongest) there."""
    field_name, folded, spans = found
    rule = match_rule(name, entity.type)
    whole = rule is MatchRule.WHOLE_FIELD
    if whole and field_name not in PARTY_NAME_FIELDS:
        return
    rank = hit_rank(name, rule, entity.names)
    for form in fuzzy_forms(name, entity.type):
        planned = plan(form, table)
        if planned is None:
            continue
        for start, end, distance in fuzzy_spans(folded, planned, whole=whole):
            span = (entity.id, field_name, spans[start][0], spans[end - 1][1])
            if span not in near or (distance, rank) < near[span][0]:
                near[span] = ((distance, rank), name.text)


def reference_hits(
    fields: Mapping[str, str],
    watchlists: Sequence[Watchlist],
    at: datetime,
    screened_at: datetime | None = None,
    *,
    fuzzy: bool = True,
    fuzzy_lists: Collection[str] | None = None,
) -> set[HitKey]:
    """Every hit the policy calls for in the screened fields of one event created at ``at``.

    Rule f: an entity counts when in force at ``at`` or at ``screened_at`` (default: ``at``).
    Rule g: of one entity's names found over the same span of a field, only the strongest is a hit.
    Fuzzy tier (unless ``fuzzy`` is off; with ``fuzzy_lists``, for those lists only): every run of
    whole words (the whole party field, for a whole-field name) within the budget of a planned form,
    not equal to it; then :func:`matchers.policy.settle` (weak aliases corroborate, exact beats fuzzy).
    """
    screened = at if screened_at is None else screened_at
    table = gram_table() if fuzzy else {}
    best: dict[HitSpan, tuple[HitRank, str]] = {}
    near: dict[HitSpan, tuple[tuple[int, HitRank], str]] = {}
    for field_name, folded, spans, flipped in _readings_with_spans(fields):
        for wl in watchlists:
            fuzzy_here = fuzzy and not flipped and (fuzzy_lists is None or wl.list_id in fuzzy_lists)
            for entity in wl.entities:
                if not (entity.in_force(at) or entity.in_force(screened)):
                    continue
                for name in entity.names:
                    found = (field_name, folded, spans)
                    _exact(found, entity, name, best, flipped=flipped)
                    if fuzzy_here:
                        _fuzzy(found, entity, name, table, near)
    rules = settle({s: bool(rank[0]) for s, (rank, _) in best.items()}, {s: o for s, (o, _) in near.items()})
    return {
        (entity_id, field, (near if rule is HitRule.FUZZY else best)[span][1], start, end)
        for span, rule in rules.items()
        for entity_id, field, start, end in [span]
    }
