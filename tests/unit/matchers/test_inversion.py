"""Comma inversion: a whole party field ``REST, FIRST`` also reads ``FIRST REST`` (issue 10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from matchers.automaton import NameAutomaton
from matchers.inversion import inverted
from matchers.screening import screen_batch, screen_batch_full
from matchers.triage import TriageCode
from matchers.watchlist import EntityType, NameStrength, Watchlist
from schemas.records import Verdict

NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("JALIL HABBUSH AL-TIKRITI, TAHIR", "TAHIR JALIL HABBUSH AL-TIKRITI"),
        ("Smith, John Paul", "John Paul Smith"),
        ("no comma", None),
        ("a, b, c", None),
        ("Acme,", None),
    ],
)
def test_inverted_reading(text: str, reading: str | None) -> None:
    """One comma with words on both sides reads FIRST REST; anything else has no inverted reading."""
    assert inverted(text) == reading


def test_un_name_written_rest_comma_first_blocks(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """`JALIL HABBUSH AL-TIKRITI, TAHIR` as creditor hits UN `TAHIR JALIL HABBUSH AL-TIKRITI`, whole field."""
    text = "JALIL HABBUSH AL-TIKRITI, TAHIR"
    result = screen_batch([make_event(creditor=text)], default_automaton, NOW)
    assert result.verdicts == [Verdict.BLOCKED]
    un = [h for h in result.hits[0] if h.entity_id == "un:IQi.016"]
    assert [(h.field, h.start, h.end, h.matched_text) for h in un] == [("creditor.name", 0, len(text), text)]


def test_inversion_reads_only_party_fields(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """The same text in a remittance is not inverted (no UN hit there)."""
    result = screen_batch([make_event(remittance="JALIL HABBUSH AL-TIKRITI, TAHIR")], default_automaton, NOW)
    assert all(h.entity_id != "un:IQi.016" for h in result.hits.get(0, []))


def test_inversion_needs_the_whole_field(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Extra words in the field (`Mr JALIL …, TAHIR`) are not an inverted whole name."""
    result = screen_batch([make_event(creditor="Mr JALIL HABBUSH AL-TIKRITI, TAHIR")], default_automaton, NOW)
    assert all(h.entity_id != "un:IQi.016" for h in result.hits.get(0, []))


def test_the_triage_never_clears_a_name_only_its_inverted_reading_holds(
    native_exact_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """`Tiesan (金铁三), Jin` (OFAC's JIN, Tiesan, with the Han name inside) holds no key but in its
    inverted reading: the native triage sends it to the full path, which blocks it; it was cleared."""
    raw = make_event(creditor="Tiesan (金铁三), Jin", created_at="2026-01-05T12:00:00Z")
    codes, _, _ = native_exact_automaton.triage.classify([raw], 1 << 20)  # type: ignore[attr-defined]
    assert list(codes) == [TriageCode.FULL_PATH]
    assert screen_batch([raw], native_exact_automaton, NOW).verdicts == [Verdict.BLOCKED]


def test_every_listed_individual_written_rest_comma_first_gets_the_full_paths_verdict(
    native_exact_automaton: NameAutomaton,
    default_lists: tuple[Watchlist, ...],
    make_event: Callable[..., bytes],
) -> None:
    """For every 20th strong name of a listed individual, written `REST, FIRST` at every word, the fast
    path (native triage first) gives the verdict the full path gives, and the full path blocks it."""
    texts = []
    names = [
        name.text
        for watchlist in default_lists
        for entity in watchlist.entities
        if entity.type is EntityType.INDIVIDUAL
        for name in entity.names
        if name.strength is not NameStrength.WEAK
    ]
    for written in names[::20]:
        words = written.replace(",", " ").split()
        texts += [" ".join(words[k:]) + ", " + " ".join(words[:k]) for k in range(1, len(words))]
    raws = [
        make_event(creditor=text, created_at="2026-01-05T12:00:00Z", event_id=f"p{i}")
        for i, text in enumerate(texts)
    ]
    fast = screen_batch(raws, native_exact_automaton, NOW)
    full = screen_batch_full(raws, native_exact_automaton, NOW)
    assert len(texts) > 500
    assert fast.verdicts == full.verdicts
    assert set(full.verdicts) == {Verdict.BLOCKED}
