"""The fast build (:func:`matchers.automaton.prepare`) makes exactly the keys, targets and anchors of a slow,
plain reference build, written the obvious way: one pass of each policy step per name, nothing shared."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Mapping

import pytest

from benchmarks.synthetic_lists import synthetic_watchlist
from matchers import fuzzy
from matchers.automaton import (
    MAX_FUZZY_FORM,
    Prepared,
    anchor_groups,
    anywhere_key,
    inversion_keys,
    prepare,
    whole_field_key,
)
from matchers.fuzzy import GRAM, MIN_ANCHOR, budget, gram_table
from matchers.normalize import fold, has_cjk
from matchers.policy import (
    MAX_FORMS_PER_NAME,
    MAX_MARK_KINDS,
    MatchRule,
    legal_variants,
    letter_count,
    match_rule,
    orders,
    word_splits,
)
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist

# --- the reference: each policy step as its docstring says, per name (a punctuated word's own forms are
# policy.word_splits itself: the fast build shares them between names, which is what is compared) ---------


def _is_mark(char: str) -> bool:
    return unicodedata.category(char)[0] == "M"


def _joined_variants(text: str) -> list[str]:
    out: dict[str, None] = {}
    marks = sorted({c for c in text if not c.isalnum() and not c.isspace() and not _is_mark(c)})
    if marks and len(marks) <= MAX_MARK_KINDS:
        for size in range(len(marks) + 1):
            for dropped in itertools.combinations(marks, size):
                written = text
                for mark in dropped:
                    written = written.replace(mark, "")
                out[" ".join(filter(None, map(fold, written.split())))] = None
    options = [word_splits(folded) for folded in map(fold, text.split()) if folded]
    for combo in itertools.product(*options):
        if len(out) >= MAX_FORMS_PER_NAME:
            break
        out[" ".join(combo)] = None
    return [fold(v) if has_cjk(v) else v for v in out if v]


def _camel_split(text: str) -> str:
    """A space before each capital that follows two letters, the last of them small, and precedes one more
    (the real names hold no combining marks)."""
    cut = [
        i
        for i in range(2, len(text) - 1)
        if text[i - 2].isalpha() and text[i - 1].islower() and text[i].isupper() and text[i + 1].isalpha()
    ]
    return " ".join(text[a:b] for a, b in zip([0, *cut], [*cut, len(text)], strict=True))


def _name_forms(name: ListedName, entity_type: EntityType) -> tuple[MatchRule, set[str]]:
    forms: dict[str, None] = {}
    for written in orders(name.text, entity_type):
        for spelled in dict.fromkeys((written, _camel_split(written))):
            for joined in _joined_variants(spelled):
                for form in legal_variants(joined):
                    if form:
                        forms[form] = None
                    if len(forms) >= MAX_FORMS_PER_NAME:
                        break
    return match_rule(name, entity_type), set(forms)


def _fuzzy_forms(name: ListedName, entity_type: EntityType) -> list[str]:
    if name.strength is NameStrength.WEAK:
        return []
    out: dict[str, None] = {}
    for written in orders(name.text, entity_type):
        folded = " ".join(filter(None, map(fold, written.split())))
        if folded and letter_count(folded) > 4 and not has_cjk(folded) and not any(map(_is_mark, folded)):
            out[folded] = None
    return list(out)


def _plan(form: str, table: Mapping[str, int]) -> tuple[int, tuple[tuple[int, str], ...]] | None:
    """:func:`matchers.fuzzy.plan` with its gram counts and gap positions spelt out per position."""
    k = budget(len(form) - form.count(" "))
    if k == 0:
        return None
    n = len(form)
    grams = [table.get(form[i : i + GRAM], 0) for i in range(n - GRAM + 1)]
    head = list(itertools.accumulate(grams, min))
    tail = list(itertools.accumulate(reversed(grams), min))[::-1]
    ok = [
        MIN_ANCHOR <= p <= n - MIN_ANCHOR - 1 and form[p - 1] != " " and form[p + 1] != " " for p in range(n)
    ]
    gaps = fuzzy._one_gap if k == 1 else fuzzy._two_gaps
    best = gaps(grams, ok, head, tail)
    if best is None or best[0] > fuzzy.ANCHOR_CAP:
        return None
    bounds = (0, *(g + 1 for g in best[1]))
    return k, tuple((a, form[a:b]) for a, b in zip(bounds, (*best[1], n), strict=True))


Targets = frozenset[tuple[str, str, str]]


def _reference(
    watchlists: Iterable[Watchlist],
) -> tuple[dict[str, Targets], dict[str, frozenset[tuple[object, ...]]]]:
    """Each key with the (entity, name, rule) it stands for, each anchor with its (form, k, entity, name,
    offset)."""
    keys: dict[str, set[tuple[str, str, str]]] = {}
    anchors: dict[str, set[tuple[object, ...]]] = {}
    table = gram_table()
    for wl in watchlists:
        for entity in wl.entities:
            for name in entity.names:
                rule, forms = _name_forms(name, entity.type)
                to_key = anywhere_key if rule is MatchRule.ANYWHERE else whole_field_key
                for form in forms:
                    keys.setdefault(to_key(form), set()).add((entity.id, name.text, rule.value))
                    if entity.type is EntityType.INDIVIDUAL:
                        for trigger in inversion_keys(form):
                            keys.setdefault(trigger, set())
                for form in _fuzzy_forms(name, entity.type):
                    planned = _plan(form, table) if len(form) <= MAX_FUZZY_FORM else None
                    for offset, anchor in planned[1] if planned else ():
                        use = (form, planned[0] if planned else 0, entity.id, name.text, rule.value, offset)
                        anchors.setdefault(anchor, set()).add(use)
    return {k: frozenset(v) for k, v in keys.items()}, {k: frozenset(v) for k, v in anchors.items()}


def _built(prepared: Prepared) -> tuple[dict[str, Targets], dict[str, frozenset[tuple[object, ...]]]]:
    """The same views of a :func:`prepare` build."""
    keys = [k.decode() if isinstance(k, bytes) else k for k in prepared.keys]
    exact: dict[str, Targets] = {}
    for key, held in zip(keys, prepared.targets, strict=False):
        targets = [held] if not isinstance(held, list) else held
        exact[key] = frozenset((t.entity.id, t.name.text, t.rule.value) for t in targets)
    anchors: dict[str, frozenset[tuple[object, ...]]] = {}
    for index, uses in anchor_groups(prepared.anchors):
        found = []
        for use in uses:
            ft = prepared.fuzzy_targets[use >> 8]
            target = ft.target
            found.append(
                (ft.fuzzy.form, ft.fuzzy.k, target.entity.id, target.name.text, target.rule.value, use & 0xFF)
            )
        anchors[keys[index]] = frozenset(found)
    assert len(keys) == prepared.key_count
    assert set(keys[prepared.exact_keys :]).isdisjoint(exact)
    return exact, anchors


def _sample(watchlists: Iterable[Watchlist], every: int) -> Watchlist:
    """Every ``every``-th entity of the lists, and every entity with punctuation or non-ASCII in a name."""
    picked = [
        e
        for wl in watchlists
        for i, e in enumerate(wl.entities)
        if i % every == 0 or any(not n.text.replace(" ", "").replace(",", "").isalnum() for n in e.names)
    ]
    return Watchlist.build("sample", "sample", picked)


@pytest.mark.slow
def test_the_fast_build_equals_the_reference_on_real_names(default_lists: tuple[Watchlist, ...]) -> None:
    """On the bundled lists' names (a sample, and every name with punctuation, marks or another script), the
    fast build's keys, targets and anchors are the plain reference build's."""
    lists = [_sample(default_lists, 4)]
    assert sum(wl.name_count for wl in lists) > 5000
    expected_keys, expected_anchors = _reference(lists)
    keys, anchors = _built(prepare(lists))
    assert keys == expected_keys
    assert anchors == expected_anchors


def test_the_fast_build_equals_the_reference_on_synthetic_and_odd_names() -> None:
    """On synthetic names and hand-picked odd ones (legal forms, many marks, CJK, Indic vowel signs), the fast
    build's keys, targets and anchors are the plain reference build's."""
    odd = [
        "AL-QA'IDA",
        "O'BRIEN-SMITH, Sean",
        "WINGS PRIVATE JOINT STOCK Co.",
        "A.B.C.D.E. TRADING L.L.C.",
        "字节跳动 ByteDance",
        "मोहन लाल",
        "ТІКТОК",
        "Müller-Lüdenscheidt GmbH",
        "X-Y-Z-W-V-U TRADING",
        "BANCO NACIONAL DE CUBA",
        "S.A.R.L. LES ÉDITIONS",
        "A/B#C&D!E TRADING",
        "QUARTERMAINE, Allan",
    ]
    entities = [
        Entity(f"odd:{i}", "odd", kind, (ListedName(text),))
        for i, (text, kind) in enumerate(itertools.product(odd, (EntityType.INDIVIDUAL, EntityType.ENTITY)))
    ]
    lists = [synthetic_watchlist(3000, seed=11), Watchlist.build("odd", "odd", entities)]
    expected_keys, expected_anchors = _reference(lists)
    keys, anchors = _built(prepare(lists))
    assert keys == expected_keys
    assert anchors == expected_anchors
