"""Outputs too big to produce become dead letters without the raw bytes."""

from __future__ import annotations

from collections.abc import Callable

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from schemas.records import Verdict, decode_dead_letter
from streams.oversized import dead_letter_oversized


def test_only_outputs_over_the_limit_are_replaced_and_the_result_agrees(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """An oversized blocked record becomes a dead letter naming its source; the others stay."""
    small = make_event()
    big = make_event(creditor="TikTok Pte. Ltd.", remittance="x" * 2_000)
    result = screen_batch([small, big], default_automaton)
    assert result.verdicts == [Verdict.CLEARED, Verdict.BLOCKED]

    values = dead_letter_oversized(
        result, lambda i: {"topic": "payments", "partition": 0, "offset": i}, limit=1_500
    )

    assert values[0] == small
    letter = decode_dead_letter(values[1])
    assert letter.raw == ""
    assert letter.source == {"topic": "payments", "partition": 0, "offset": 1}
    assert "blocked record would be" in letter.error
    assert "1,500-byte limit" in letter.error
    assert result.verdicts == [Verdict.CLEARED, Verdict.DEAD_LETTER]
    assert result.hits == {}
    assert result.errors == {1: letter.error}


def test_a_batch_within_the_limit_is_returned_unchanged(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Nothing over the limit: the very same values, verdicts untouched."""
    result = screen_batch([make_event(), make_event(creditor="TikTok Pte. Ltd.")], default_automaton)
    assert dead_letter_oversized(result, lambda i: {}) is result.values
    assert result.verdicts == [Verdict.CLEARED, Verdict.BLOCKED]
