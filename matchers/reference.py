"""A slow, obviously-correct matcher: the policy written as plain loops, for tests to compare against.

For every field, every entity, every name and every searchable form, it folds the field text
on its own and looks for the form with ``str.find``, checking word boundaries by hand. No
automaton, no batch strings, no shortcuts. Property tests check that the screening core
finds exactly the same hits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from matchers.normalize import fold_with_spans, is_cjk, readings
from matchers.policy import HitRank, MatchRule, hit_rank, name_forms
from matchers.watchlist import Watchlist
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


def _readings_with_spans(fields: Mapping[str, str]) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Each field's readings (the text itself and its others, policy a): field, fold, and each folded
    character's span in the original text."""
    out = []
    for field_name, text in fields.items():
        folded, spans = fold_with_spans(text)
        out.append((field_name, folded, spans))
        for reading, positions in readings(text, positions=True):
            assert positions is not None
            folded, spans = fold_with_spans(reading)
            out.append((field_name, folded, [(positions[a], positions[b - 1] + 1) for a, b in spans]))
    return out


def reference_hits(
    fields: Mapping[str, str],
    watchlists: Sequence[Watchlist],
    at: datetime,
    screened_at: datetime | None = None,
) -> set[HitKey]:
    """Every hit the policy calls for in the screened fields of one event created at ``at``.

    Rule f: an entity counts when in force at ``at`` or at ``screened_at`` (default: ``at``).
    Rule g: of one entity's names found over the same span of a field, only the strongest is a hit.
    """
    screened = at if screened_at is None else screened_at
    best: dict[tuple[str, str, int, int], tuple[HitRank, str]] = {}
    for field_name, folded, spans in _readings_with_spans(fields):
        for wl in watchlists:
            for entity in wl.entities:
                if not (entity.in_force(at) or entity.in_force(screened)):
                    continue
                for name in entity.names:
                    forms = name_forms(name, entity.type)
                    rank = hit_rank(name, forms.rule, entity.names)
                    for form in forms.forms:
                        if forms.rule is MatchRule.WHOLE_FIELD:
                            positions = [0] if field_name in PARTY_NAME_FIELDS and folded == form else []
                        else:
                            positions = _occurrences(form, folded)
                        for pos in positions:
                            span = (entity.id, field_name, spans[pos][0], spans[pos + len(form) - 1][1])
                            if span not in best or rank < best[span][0]:
                                best[span] = (rank, name.text)
    return {
        (entity_id, field, name, start, end) for (entity_id, field, start, end), (_, name) in best.items()
    }
