"""A flood of hits: a record lists the first 100, counts them all, and costs time linear in the event."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch, screen_batch_full
from schemas.records import MAX_HITS_PER_RECORD, Verdict, decode_blocked

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "blocked_record.v1.schema.json"


def flood(make_event: Callable[..., bytes], word: str, repeats: int) -> bytes:
    """An event whose remittance repeats a listed name."""
    return make_event(remittance=f"{word} " * repeats)


def test_a_flood_lists_the_first_hits_and_counts_them_all(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """20,000 repeats of HAMAS: 100 hits, the first in the text, hits_total 20,000, a record of event size."""
    raw = flood(make_event, "HAMAS", 20_000)
    result = screen_batch([raw], default_automaton, NOW)
    assert result.verdicts == [Verdict.BLOCKED]
    assert result.values == screen_batch_full([raw], default_automaton, NOW).values
    record = decode_blocked(result.values[0])
    assert record.hits_total == result.hits_total[0] == 20_000
    assert len(record.hits) == MAX_HITS_PER_RECORD
    assert [(h.start, h.matched_text) for h in record.hits] == [(6 * k, "HAMAS") for k in range(100)]
    assert len(result.values[0]) < len(raw) + 100 * 400  # the event, and 100 hits of a few hundred bytes
    schema = json.loads(SCHEMA.read_text())
    assert schema["properties"]["hits"]["maxItems"] == MAX_HITS_PER_RECORD
    jsonschema.Draft202012Validator(schema).validate(orjson.loads(result.values[0]))


def test_hits_total_equals_the_hits_listed_below_the_cap(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Under the cap nothing is left out: hits_total is the number of hits listed."""
    record = decode_blocked(screen_batch([flood(make_event, "HAMAS", 7)], default_automaton, NOW).values[0])
    assert record.hits_total == len(record.hits) == 7


def seconds(raw: bytes, automaton: NameAutomaton) -> float:
    """The fastest of three screenings of one event."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        screen_batch([raw], automaton, NOW)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("word", ["HAMAS", "НАМАS"])  # ASCII, and Cyrillic look-alikes (the Unicode path)
def test_screening_a_flood_grows_linearly_with_its_size(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], word: str
) -> None:
    """Four times the repeats take about four times as long (a per-find rescan would take sixteen)."""
    small = seconds(flood(make_event, word, 10_000), default_automaton)
    large = seconds(flood(make_event, word, 40_000), default_automaton)
    assert large / small < 7


def test_a_flood_costs_a_small_multiple_of_parsing_it(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Screening 150,000 repeats takes a bounded multiple of a JSON parse plus a clean event of that size."""
    raw = flood(make_event, "HAMAS", 150_000)
    clean = flood(make_event, "ZZZZZ", 150_000)
    started = time.perf_counter()
    for _ in range(3):
        orjson.loads(raw)
    parse = (time.perf_counter() - started) / 3
    assert seconds(raw, default_automaton) < 200 * (parse + seconds(clean, default_automaton))


@pytest.mark.parametrize("spelling", ["HAMAS", "НАМАS", "ＨＡＭＡＳ"])  # ASCII, look-alikes, full width
def test_offsets_of_the_listed_hits_point_at_the_original_text(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], spelling: str
) -> None:
    """In a long text with mixed spacing and scripts, the 100 hits listed point at the names as written."""
    remittance = "".join(f"réf {i}:\u00a0 Société — {spelling};\t" for i in range(300))
    result = screen_batch([make_event(remittance=remittance)], default_automaton, NOW)
    record = decode_blocked(result.values[0])
    expected = [i for i in range(len(remittance)) if remittance.startswith(spelling, i)][:100]
    assert [(h.start, h.end) for h in record.hits] == [(i, i + len(spelling)) for i in expected]
    assert {h.matched_text for h in record.hits} == {spelling}
    assert record.hits_total == 300
