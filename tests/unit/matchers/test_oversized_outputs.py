"""Outputs too big to produce become dead letters that fit, with the event's size and first bytes."""

from __future__ import annotations

from collections.abc import Callable

from matchers.automaton import NameAutomaton
from matchers.oversized import dead_letter_oversized
from matchers.screening import screen_batch
from schemas.events import MAX_EVENT_BYTES
from schemas.records import Verdict, dead_letter_raw, decode_dead_letter
from streams.kafka.clients import MAX_OUTPUT_BYTES


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
    assert dead_letter_oversized(result, lambda i: {}, MAX_OUTPUT_BYTES) is result.values
    assert result.verdicts == [Verdict.CLEARED, Verdict.BLOCKED]


def test_an_event_over_the_size_limit_says_its_own_size_and_keeps_its_first_bytes(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """An event over the event size limit: the reason is its size against that limit; raw keeps its head."""
    big = make_event(remittance="é" * (MAX_EVENT_BYTES // 2))
    assert len(big) > MAX_EVENT_BYTES
    result = screen_batch([big], default_automaton)
    values = dead_letter_oversized(
        result,
        lambda i: {"topic": "payments", "partition": 0, "offset": 5},
        MAX_OUTPUT_BYTES,
        raw_of=lambda i: big,
    )
    (value,) = values
    assert len(value) <= MAX_OUTPUT_BYTES
    letter = decode_dead_letter(value)
    assert letter.error == f"event is {len(big)} bytes, larger than the {MAX_EVENT_BYTES}-byte limit"
    assert letter.raw_encoding == "utf-8"  # cut between characters, not inside one
    head = dead_letter_raw(letter)
    assert len(head) > MAX_OUTPUT_BYTES * 9 // 10
    assert big.startswith(head)
    assert "dead-letter record" not in letter.error


def test_a_cleared_event_too_big_to_pass_on_keeps_its_first_bytes(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A valid event bigger than an output may be: its own size against that limit, and its head."""
    big = make_event(remittance="\u0001" * 2_000 + "x" * 3_000)
    result = screen_batch([big], default_automaton)
    assert result.verdicts == [Verdict.CLEARED]
    (value,) = dead_letter_oversized(result, lambda i: {}, limit=4_000, raw_of=lambda i: big)
    assert len(value) <= 4_000
    letter = decode_dead_letter(value)
    assert letter.error == f"event is {len(big):,} bytes, more than the 4,000 bytes an output record may hold"
    assert big.startswith(dead_letter_raw(letter))
    assert dead_letter_raw(letter)
    assert result.verdicts == [Verdict.DEAD_LETTER]


def test_a_tombstone_is_named_apart_from_an_empty_message(default_automaton: NameAutomaton) -> None:
    """A null value (a Kafka tombstone) is dead-lettered as a tombstone; an empty value as empty."""
    result = screen_batch([None, b""], default_automaton)
    assert result.errors == {0: "tombstone (null value)", 1: "empty message"}
