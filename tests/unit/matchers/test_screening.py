"""screen_batch: one verdict and one output per input, fail closed, records as the schemas say."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import orjson
import pytest

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from schemas.records import Verdict, dead_letter_raw, decode_blocked, decode_dead_letter

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one of the project's JSON Schema files."""
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))


def test_clean_event_is_cleared_with_its_original_bytes(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A clean event is cleared and its output is the input, byte for byte."""
    raw = (
        b'  {"id":"a","created_at":"2020-10-01T00:00:00+02:00","amount":12.50,"currency":"EUR",'
        b'"debtor":{"name":"Ann Lee"},"creditor":{"name":"Bob Ray"},"x":[1,2]}\n'
    )
    result = screen_batch([raw, make_event()], default_automaton)
    assert result.verdicts == [Verdict.CLEARED, Verdict.CLEARED]
    assert result.values[0] is raw


def test_hit_is_blocked_with_the_event_unchanged_and_reasons(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A blocked record embeds the event exactly as received and lists every hit with its reason."""
    raw = make_event(creditor="Banco Nacional de Cuba", remittance="TikTok ads", extra_field={"n": 1.50})
    result = screen_batch([raw], default_automaton)
    assert result.verdicts == [Verdict.BLOCKED]
    validator("blocked_record.v1.schema.json").validate(orjson.loads(result.values[0]))
    record = decode_blocked(result.values[0])
    assert orjson.dumps(record.event) == orjson.dumps(orjson.loads(raw))
    assert raw in result.values[0]
    assert {(h.entity_id, h.field) for h in record.hits} >= {
        ("ofac-sdn:306", "creditor.name"),
        ("us-eo-2020:bytedance", "remittance"),
    }
    assert record.watchlist_version == default_automaton.version


def test_out_of_force_hits_do_not_block(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """TikTok before the ban took effect is cleared."""
    result = screen_batch(
        [make_event(remittance="TikTok ads", created_at="2020-08-10T10:00:00Z")], default_automaton
    )
    assert result.verdicts == [Verdict.CLEARED]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"not json", "invalid JSON"),
        (b'{"id": "a"', "invalid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": "a"}', "missing required field"),
        (b"\xff\xfe{}", "UTF-8"),
        (
            b'{"id": "\\ud800", "created_at": "2020-10-01T00:00:00Z", "amount": "1", "currency": "EUR",'
            b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',
            "surrogate",
        ),
    ],
)
def test_malformed_inputs_are_dead_lettered_with_a_reason(
    default_automaton: NameAutomaton, raw: bytes, reason: str
) -> None:
    """Anything that is not a payment event goes to the dead letters with a readable reason, never cleared."""
    result = screen_batch([raw], default_automaton, source_of=lambda i: {"file": "in.jsonl", "line": 7})
    assert result.verdicts == [Verdict.DEAD_LETTER]
    record = decode_dead_letter(result.values[0])
    validator("dead_letter.v1.schema.json").validate(orjson.loads(result.values[0]))
    assert reason.lower() in record.error.lower()
    assert record.source == {"file": "in.jsonl", "line": 7}
    assert dead_letter_raw(record) == raw


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"currency": "eur"}, "currency"),
        ({"amount": "1,00"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": True}, "amount"),
        ({"created_at": "2020-10-01T10:00:00"}, "created_at"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"id": ""}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"debtor": {"name": "   "}}, "debtor.name"),
        ({"creditor": {"name": "B", "country": "XX"}}, "creditor.country"),
        ({"creditor": {"name": 5}}, "creditor"),
        ({"remittance": 12}, "remittance"),
    ],
)
def test_wrong_values_are_dead_lettered_naming_the_field(
    default_automaton: NameAutomaton, overrides: dict[str, object], reason: str
) -> None:
    """Each broken field gets a dead letter whose reason names that field."""
    event = {
        "id": "a",
        "created_at": "2020-10-01T00:00:00Z",
        "amount": "1.00",
        "currency": "EUR",
        "debtor": {"name": "A"},
        "creditor": {"name": "B"},
        **overrides,
    }
    result = screen_batch([orjson.dumps(event)], default_automaton)
    assert result.verdicts == [Verdict.DEAD_LETTER]
    assert reason in decode_dead_letter(result.values[0]).error


def test_oversized_events_are_dead_lettered_unread(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """An event over the size limit is refused before it is parsed."""
    raw = make_event(remittance="x" * 200)
    result = screen_batch([raw], default_automaton, max_event_bytes=100)
    assert result.verdicts == [Verdict.DEAD_LETTER]
    assert "limit" in result.errors[0]


def test_batch_composition_does_not_change_verdicts(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Screening events together or one at a time gives the same verdicts and hits."""
    raws = [
        make_event(remittance="Invoice 1"),
        b"garbage",
        make_event(creditor="Müller Anlagenbau", remittance="payment to HAMAS"),
        make_event(creditor="字节跳动", remittance=None),
        make_event(debtor="SNOW"),
        make_event(remittance="Оплата Tеncent"),
    ]
    together = screen_batch(raws, default_automaton)
    alone = [screen_batch([raw], default_automaton) for raw in raws]
    assert together.verdicts == [r.verdicts[0] for r in alone]
    assert [together.hits.get(i) for i in range(len(raws))] == [r.hits.get(0) for r in alone]
    assert together.verdicts == [
        Verdict.CLEARED,
        Verdict.DEAD_LETTER,
        Verdict.BLOCKED,
        Verdict.BLOCKED,
        Verdict.BLOCKED,
        Verdict.BLOCKED,
    ]


def test_counts_add_up(default_automaton: NameAutomaton, make_event: Callable[..., bytes]) -> None:
    """cleared + blocked + dead-lettered equals the batch size."""
    result = screen_batch([make_event(), make_event(remittance="TikTok"), b"{}", None], default_automaton)
    assert (result.cleared, result.blocked, result.dead_lettered) == (1, 1, 2)


@pytest.mark.parametrize("remittance", ["payment to\u0000HAMAS", "Zürich\u0000HAMAS", "Москва\u0000HAMAS"])
def test_nul_inside_a_text_is_a_separator_not_a_batch_boundary(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], remittance: str
) -> None:
    """A NUL (JSON \\u0000) in a screened text is a space: it neither hides a name nor shifts later hits."""
    raws = [
        make_event(remittance=remittance, event_id="nul"),
        make_event(event_id="clean"),
        make_event(debtor="HAMAS", event_id="party"),
    ]
    result = screen_batch(raws, default_automaton)
    assert result.verdicts == [Verdict.BLOCKED, Verdict.CLEARED, Verdict.BLOCKED]
    assert [(h.field, h.matched_text) for h in result.hits[0]] == [("remittance", "HAMAS")]
    assert [(h.field, h.matched_text) for h in result.hits[2]] == [("debtor.name", "HAMAS")]
