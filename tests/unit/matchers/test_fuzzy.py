"""The fuzzy tier (issue 10 §3): budgets, anchors, OSA verification, scope, and no subset matches."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.typos import EDITS, typo_variant, within_budget
from matchers import backend, fuzzy, screening
from matchers.automaton import NameAutomaton
from matchers.backend import engine
from matchers.fuzzy import FuzzyForm, budget, gram_table, osa_distance, plan, verify, verify_py
from matchers.policy import HitRule, fuzzy_forms
from matchers.screening import check_text, screen_batch
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.records import MAX_HITS_PER_RECORD, Verdict

NOW = datetime(2026, 1, 5, tzinfo=UTC)
SCHEMA = orjson.loads(Path("schemas/blocked_record.v1.schema.json").read_bytes())


def _osa_full(a: str, b: str) -> int:
    """The textbook OSA table, no band, no cut-off."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


_short = st.text(alphabet="abc d", max_size=9)


@settings(max_examples=300, deadline=None)
@given(_short, _short, st.integers(0, 3))
def test_osa_distance_matches_the_textbook_table(a: str, b: str, limit: int) -> None:
    """The banded, cut-off OSA in Python equals the full table, capped at limit + 1."""
    full = _osa_full(a, b)
    assert osa_distance(a, b) == full
    assert osa_distance(a, b, limit) == min(full, limit + 1)


@settings(max_examples=300, deadline=None)
@given(_short, _short, st.integers(0, 3))
def test_native_osa_distance_equals_the_python_one(a: str, b: str, limit: int) -> None:
    """The native OSA (native/src/distance.rs) equals the Python one, with and without a cut-off (skipped
    only where the native fast path is not built)."""
    native = pytest.importorskip("matchers._native", reason="the native fast path is not built").osa_distance
    assert native(a, b) == osa_distance(a, b)
    assert native(a, b, limit) == osa_distance(a, b, limit)


def test_swaps_cost_one_edit() -> None:
    """An adjacent swap is one edit (restricted Damerau-Levenshtein), not two."""
    assert osa_distance("ladin", "ldain") == 1
    assert osa_distance("ca", "abc") == 3  # optimal string alignment edits no substring twice


@pytest.mark.parametrize(("letters", "k"), [(4, 0), (8, 0), (9, 1), (15, 1), (16, 2), (40, 2)])
def test_budget_by_letters(letters: int, k: int) -> None:
    """k is 0 below 9 letters, 1 for 9 to 15, 2 from 16."""
    assert budget(letters) == k


_form = st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=8), min_size=1, max_size=4).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_form, st.integers(1, 2), st.randoms(use_true_random=False))
def test_an_anchor_survives_every_edit_within_budget(form: str, edits: int, rng: random.Random) -> None:
    """Pigeonhole: a text within k edits of a planned form holds one of its anchors near its place."""
    planned = plan(form, {}, cap=0)
    if planned is None:
        return
    text = form
    for _ in range(min(edits, planned.k)):
        text = EDITS[rng.choice(sorted(EDITS))](text, rng) or text
    if osa_distance(form, text) > planned.k:
        return
    assert any(
        text.find(anchor, max(0, offset - planned.k))
        in range(max(0, offset - planned.k), offset + planned.k + 1)
        for offset, anchor in planned.anchors
    )


@settings(max_examples=200, deadline=None)
@given(_form, _form, st.integers(-3, 12), st.booleans())
def test_native_verification_equals_the_python_one(text: str, form: str, at: int, whole: bool) -> None:
    """The native span verification finds exactly what the Python one finds."""
    k = max(1, budget(len(form) - form.count(" ")))
    planned = FuzzyForm(form, k, ())
    assert verify(text, planned, at, whole=whole) == verify_py(text, planned, at, whole=whole)


_ANCHOR = "mhad"
_EDITS = st.lists(st.tuples(st.sampled_from("dis"), st.integers(0, 40), st.sampled_from("abcj ")), max_size=2)


def _edited(text: str, edits: list[tuple[str, int, str]]) -> str:
    """``text`` with each edit applied: a deletion, an insertion or a substitution at a position."""
    for kind, at, letter in edits:
        i = at % (len(text) + 1)
        if kind == "i":
            text = text[:i] + letter + text[i:]
        elif text and i < len(text):
            text = text[:i] + (letter if kind == "s" else "") + text[i + 1 :]
    return text


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_form, st.integers(0, 6), st.integers(1, 2), st.booleans()), min_size=1, max_size=6),
    st.tuples(_form, _form),
    st.tuples(_EDITS, _EDITS),
    st.booleans(),
)
def test_an_anchor_find_verifies_as_each_of_its_forms_does(
    forms: list[tuple[str, int, int, bool]],
    context: tuple[str, str],
    edits: tuple[list[tuple[str, int, str]], list[tuple[str, int, str]]],
    party: bool,
) -> None:
    """The native index verifies a find (its quick tests first: characters missing from the window, the
    form not fitting) exactly as the Python verification of each form the anchor is in; the text holds
    an edited copy of the first form, around the anchor."""
    index = engine().fuzzy_index
    if index is None:
        pytest.skip("the native fast path is not built")
    fuzzy_index = index()
    uses, planned = [], []
    for form, offset, k, whole in forms:
        cut = min(offset, len(form))
        form_id = fuzzy_index.add_form(k, whole, form[:cut] + _ANCHOR + form[cut:])
        uses.append(form_id << 8 | cut)
        planned.append((FuzzyForm(form[:cut] + _ANCHOR + form[cut:], k, ()), cut, whole))
    fuzzy_index.add_anchor(0, uses)
    first, cut = forms[0][0], planned[0][1]
    head = _edited(first[:cut], edits[0])
    text = f"{context[0]} {head}{_ANCHOR}{_edited(first[cut:], edits[1])} {context[1]}"
    local = len(context[0]) + 1 + len(head)
    expected = []
    for form_id, (form, offset, whole) in enumerate(planned):
        at = local - offset
        if at + form.k < 0 or at + len(form.form) - form.k > len(text) or (whole and not party):
            continue
        expected += [(form_id, *span) for span in verify_py(text, form, at, whole=whole)]
    assert fuzzy_index.verify(0, text, local, party, True) == expected


_planned_form = st.text(alphabet="abcé 𝔘", min_size=0, max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    _planned_form,
    st.lists(st.tuples(st.integers(0, 36), st.integers(0, 9000)), max_size=12),
    st.sampled_from([0, 10, 4000, 5000, None]),
)
def test_the_native_anchor_plan_equals_the_python_one(
    form: str, counted: list[tuple[int, int]], cap: int | None
) -> None:
    """The native cut of a form into anchors (native/src/planner.rs) is :func:`plan`'s: the same budget,
    offsets in characters and anchors, under any gram counts and cap (spaces and characters beyond
    U+FFFF included)."""
    native = backend.native_engine()
    if native is None or native.anchor_planner is None:
        pytest.skip("the native fast path is not built")
    table = {form[i : i + fuzzy.GRAM]: count for i, count in counted if i + fuzzy.GRAM <= len(form)}
    table["ab"] = 1  # not a gram: never looked up, by either
    limit = fuzzy.ANCHOR_CAP if cap is None else cap
    found = native.anchor_planner(table, limit).plan(form)
    expected = plan(form, table, cap)
    native_form = None if found is None else FuzzyForm(form, found[0], tuple(found[1]))
    assert native_form == expected


def test_the_planner_cuts_as_plan_does_on_either_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`matchers.fuzzy.planner` (native where the engine is, else :func:`plan`) cuts real-looking forms
    as :func:`plan` does, with the vendored gram table."""
    table = gram_table()
    forms = ["banco nacional de cuba", "mohammad abdul rahman al", "usama bin ladin", "tiktok", "ab cd ef gh"]
    for using in {backend.PURE, backend.native_engine() or backend.PURE}:
        monkeypatch.setattr(fuzzy, "engine", lambda using=using: using)
        cut = fuzzy.planner(table)
        assert [cut(f) for f in forms] == [plan(f, table) for f in forms]
    assert plan("banco nacional de cuba", table) is not None


def test_names_with_common_anchors_stay_exact_only() -> None:
    """A form whose every cut leaves an anchor above the cap is not planned (exact-only)."""
    table = {"aaaa": 10_000}
    assert plan("aaaaaaaaaaaa", table) is None
    assert plan("aaaaaaaaaaaa", table, cap=10_000) is not None
    assert plan("abcdefgh", {}) is None  # 8 letters: budget 0
    assert gram_table()  # the vendored table loads


@pytest.mark.parametrize(
    ("text", "entity_id", "matched_name"),
    [
        ("Usama bin Ladn", "ofac-sdn:6365", "BIN LADIN, Usama"),
        ("Banco Nacional de Kuba", "ofac-sdn:306", "BANCO NACIONAL DE CUBA"),
        ("payment to Banco Nacinal de Cuba ltd", "ofac-sdn:306", "BANCO NACIONAL DE CUBA"),
    ],
)
def test_typos_of_listed_names_hit_fuzzily(
    default_automaton: NameAutomaton, text: str, entity_id: str, matched_name: str
) -> None:
    """A dropped, swapped or substituted letter of a listed name is a fuzzy hit with its distance."""
    hits = [h for h in check_text(text, default_automaton) if h.entity_id == entity_id]
    assert [(h.rule, h.distance, h.matched_name) for h in hits] == [(HitRule.FUZZY.value, 1, matched_name)]


def test_anchor_finds_verified_at_once_or_by_chunk_give_the_same_records(
    native_automaton: NameAutomaton, make_event: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's anchor finds verified in one call (failing ones left out of the loop) or a chunk at a time
    (a batch with too many) give the same records, also for a text past its cap of candidates."""
    names = ["Usama bin Ladn", "Banco Nacinal de Cuba", "Muhammad Hassan Ali", "Maria Fernanda Hernandez"]
    flood = " ".join(names * 40)  # past the record's cap of hits, with failing anchor finds between
    raws = [make_event(creditor=name, remittance=f"ref {name} 55") for name in names]
    raws.append(make_event(remittance=flood, event_id="pay-flood"))
    at_once = screen_batch(raws, native_automaton, NOW)
    monkeypatch.setattr(screening, "_VERIFY_AT_ONCE", 0)
    by_chunk = screen_batch(raws, native_automaton, NOW)
    assert at_once.values == by_chunk.values
    assert at_once.hits_total == by_chunk.hits_total
    assert at_once.hits_total[len(raws) - 1] > MAX_HITS_PER_RECORD  # the flood is past its cap
    assert {0, 1} <= set(at_once.hits)  # the typos of listed names


@pytest.mark.parametrize(
    "text", ["Garcia", "Hernandez", "Jose Rodriguez", "Rivera Inc", "Maria Gonzalez", "Banco Nacional"]
)
def test_no_subset_matches(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], text: str
) -> None:
    """A party name holding only part of a listed name is not a hit, fuzzy or exact."""
    result = screen_batch(
        [make_event(creditor=text), make_event(remittance=f"to {text} 55")], default_automaton, NOW
    )
    assert result.verdicts == [Verdict.CLEARED, Verdict.CLEARED]


def test_exact_hits_are_not_repeated_as_fuzzy(default_automaton: NameAutomaton) -> None:
    """The listed name itself is an exact hit only: no fuzzy hit of the same entity over it."""
    hits = check_text("Banco Nacional de Cuba", default_automaton)
    assert {h.rule for h in hits if h.entity_id == "ofac-sdn:306"} == {HitRule.ANYWHERE.value}


def test_fuzzy_off_finds_no_typos(
    default_lists: tuple[Watchlist, ...], exact_automaton: NameAutomaton
) -> None:
    """With --fuzzy off the typo is not a hit; the exact tier is unchanged."""
    assert not check_text("Banco Nacional de Kuba", exact_automaton)
    assert check_text("Banco Nacional de Cuba", exact_automaton)


def _one(name: ListedName, etype: EntityType = EntityType.INDIVIDUAL, **dates: datetime) -> NameAutomaton:
    entity = Entity("t:1", "t", etype, (name,), ("P",), dates.get("since"), dates.get("until"))
    return NameAutomaton([Watchlist.build("t", "test", [entity])])


def test_whole_field_names_fuzzy_match_only_a_whole_party_field(make_event: Callable[..., bytes]) -> None:
    """A single-word individual name (whole-field rule) fuzzy-matches a whole party name only."""
    automaton = _one(ListedName("QUARTERMAINE"))
    result = screen_batch(
        [make_event(creditor="Quartermane"), make_event(remittance="to Quartermane 5")], automaton, NOW
    )
    assert result.verdicts == [Verdict.BLOCKED, Verdict.CLEARED]
    (hit,) = result.hits[0]
    assert (hit.rule, hit.distance, hit.matched_text) == (HitRule.FUZZY.value, 1, "Quartermane")
    jsonschema.validate(orjson.loads(result.values[0]), SCHEMA)


def test_weak_and_short_names_never_fuzzy_match() -> None:
    """Weak aliases and names of four letters or fewer have no fuzzy forms."""
    assert fuzzy_forms(ListedName("QUARTERMAINE", NameStrength.WEAK), EntityType.INDIVIDUAL) == []
    assert fuzzy_forms(ListedName("FSB"), EntityType.ENTITY) == []
    assert not check_text(
        "Quartermane", _one(ListedName("QUARTERMAINE", NameStrength.WEAK)), field_name="creditor.name"
    )


def test_effective_dates_apply_to_fuzzy_hits(make_event: Callable[..., bytes]) -> None:
    """An entity no longer in force is no fuzzy hit either."""
    until = datetime(2021, 1, 1, tzinfo=UTC)
    automaton = _one(ListedName("ZETA ORBITAL HOLDINGS"), EntityType.ENTITY, until=until)
    raw = make_event(remittance="to Zeta Orbtal Holdings", created_at="2025-01-01T00:00:00Z")
    assert screen_batch([raw], automaton, NOW).verdicts == [Verdict.CLEARED]
    raw = make_event(remittance="to Zeta Orbtal Holdings", created_at="2020-06-01T00:00:00Z")
    assert screen_batch([raw], automaton, NOW).hits[0][0].in_force_at == "created_at"


def test_fuzzy_never_crosses_fields(make_event: Callable[..., bytes]) -> None:
    """A name split over two fields is no fuzzy hit."""
    automaton = _one(ListedName("ZETA ORBITAL HOLDINGS"), EntityType.ENTITY)
    raw = make_event(creditor="Zeta Orbital", remittance="Holdings")
    assert screen_batch([raw], automaton, NOW).verdicts == [Verdict.CLEARED]


def test_typo_recall_on_real_names(
    default_lists: tuple[Watchlist, ...], default_automaton: NameAutomaton
) -> None:
    """Seeded one-edit typos of every 40th strong SDN/UN name within budget: at least 90% block."""
    from benchmarks.fuzzy import recall, typo_cases

    found = recall(default_automaton, typo_cases(default_lists, edits=1, every=40))
    assert found["variants"] > 100
    assert found["recall"] >= 0.90


def test_typo_variants_are_within_budget() -> None:
    """The generator keeps only variants within the name's budget and not equal to it."""
    rng = random.Random(3)
    variant, _ = typo_variant("BANCO NACIONAL DE CUBA", 1, rng)
    assert variant != "BANCO NACIONAL DE CUBA"
    assert within_budget("banco nacional de cuba", "BANCO NACIONAL DE KUBA")
    assert not within_budget("banco nacional de cuba", "BANCO NACIONAL DE CUBA")


def test_anchor_cap_is_documented() -> None:
    """The anchor cap the README states is the one the code applies."""
    readme = Path("README.md").read_text(encoding="utf-8")
    assert f"{fuzzy.ANCHOR_CAP} per million" in readme


@pytest.mark.slow
def test_ordinary_names_are_not_fuzzy_hits(
    exact_automaton: NameAutomaton, default_automaton: NameAutomaton
) -> None:
    """Of 10,000 Faker names in 22 locales that the exact tier clears, at most 0.05% block fuzzily."""
    from benchmarks.fuzzy import ordinary_false_positives

    found = ordinary_false_positives(exact_automaton, default_automaton, 10_000, seed=3)
    assert found["names"] > 9_000
    assert found["rate"] <= 0.0005, found["examples"]
