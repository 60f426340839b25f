"""Comma inversion: a whole party field ``REST, FIRST`` also reads ``FIRST REST`` (issue 10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from matchers.automaton import NameAutomaton
from matchers.inversion import inverted
from matchers.screening import screen_batch
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
