"""Rule g: one hit per entity, field and span, the strongest of the names found there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from matchers.automaton import NameAutomaton
from matchers.screening import check_text, screen_batch, screen_batch_full
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def automaton_of(*names: ListedName) -> NameAutomaton:
    """An automaton over one undated entity with ``names``."""
    entity = Entity("t:zeta", "t", EntityType.ENTITY, names, ("P",))
    return NameAutomaton([Watchlist.build("t", "test", [entity])])


def test_a_real_list_entry_with_many_spellings_hits_once_per_span(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """OFAC 30286 (seven spellings, 14 hits on one event before) gives one hit per field and span
    (beside the fuzzy hits of another listed company two letters away, MKS INTERNATIONAL CO. LTD.)."""
    name = "DES INTERNATIONAL CO., LTD."
    raw = make_event(creditor=name, remittance=f"payment to {name}")
    result = screen_batch([raw], default_automaton, NOW)
    assert result.values == screen_batch_full([raw], default_automaton, NOW).values
    spans = Counter((h.entity_id, h.field, h.start, h.end) for h in result.hits[0])
    assert set(spans.values()) == {1}
    hits = [h for h in result.hits[0] if h.entity_id == "ofac-sdn:30286"]
    assert {(h.rule, h.distance) for h in result.hits[0] if h not in hits} == {("fuzzy", 2)}
    assert [(h.field, h.start, h.end, h.matched_name) for h in hits] == [
        ("creditor.name", 0, 17, "DES INTERNATIONAL"),
        ("creditor.name", 0, 20, "DES INTERNATIONAL CO."),
        ("creditor.name", 0, 26, "DES INTERNATIONAL CO., LTD."),
        ("remittance", 11, 28, "DES INTERNATIONAL"),
        ("remittance", 11, 31, "DES INTERNATIONAL CO."),
        ("remittance", 11, 37, "DES INTERNATIONAL CO., LTD."),
    ]
    assert result.hits_total == {0: len(result.hits[0])}


def test_the_name_listed_first_wins_among_equals(make_event: Callable[..., bytes]) -> None:
    """Two strong names that read alike (legal-form spellings) report the one listed first."""
    automaton = automaton_of(ListedName("ZETA HOLDINGS LIMITED"), ListedName("Zeta Holdings Ltd"))
    (hit,) = screen_batch([make_event(creditor="Zeta Holdings Ltd.")], automaton, NOW).hits[0]
    assert (hit.matched_name, hit.matched_text) == ("ZETA HOLDINGS LIMITED", "Zeta Holdings Ltd")


def test_a_strong_name_beats_a_weak_alias_listed_before_it(make_event: Callable[..., bytes]) -> None:
    """Over the same whole party name, a strong name matching anywhere beats a weak whole-field alias."""
    automaton = automaton_of(
        ListedName("ZETA-HOLDINGS", NameStrength.WEAK), ListedName("ZETA HOLDINGS", NameStrength.STRONG)
    )
    (hit,) = screen_batch([make_event(creditor="Zeta Holdings")], automaton, NOW).hits[0]
    assert (hit.matched_name, hit.rule) == ("ZETA HOLDINGS", "anywhere")


def test_check_text_collapses_alike(default_automaton: NameAutomaton) -> None:
    """``txscreen check`` shows the same collapsed hits as a blocked record."""
    hits = check_text("DES INTERNATIONAL CO., LTD.", default_automaton, field_name="creditor.name")
    hits = [h for h in hits if h.entity_id == "ofac-sdn:30286"]
    assert [(h.start, h.end, h.matched_name) for h in hits] == [
        (0, 17, "DES INTERNATIONAL"),
        (0, 20, "DES INTERNATIONAL CO."),
        (0, 26, "DES INTERNATIONAL CO., LTD."),
    ]
