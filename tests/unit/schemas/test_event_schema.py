"""The payment event codec and payment_event.v1.schema.json accept and refuse the same events."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from schemas.events import MAX_EVENT_BYTES, MAX_ID_LENGTH, decode_batch

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "schemas" / "payment_event.v1.schema.json").read_text()
)
BASE = {
    "id": "pay-1",
    "created_at": "2020-10-01T12:00:00+02:00",
    "amount": "1250.00",
    "currency": "EUR",
    "debtor": {
        "name": "Ann Lee",
        "account": "DE89370400440532013000",
        "country": "DE",
        "agent": {"bic": "DEUTDEFFXXX", "name": "Deutsche Bank AG"},
    },
    "creditor": {"name": "Bob Ray", "address": {"street": "Main St 1", "city": "Oslo"}, "country": "NO"},
    "remittance": "Invoice 1",
}


def codec_accepts(event: object) -> bool:
    """True when the batch decoder, the one Python owner of event validity, accepts the event."""
    events, errors, _ = decode_batch([orjson.dumps(event)], MAX_EVENT_BYTES)
    assert (events[0] is None) == (0 in errors)
    return events[0] is not None


def schema_accepts(event: object) -> bool:
    """True when the JSON Schema validates the event."""
    return jsonschema.Draft202012Validator(SCHEMA).is_valid(event)


def variant(path: str, value: object) -> dict[str, object]:
    """BASE with one (possibly nested, dot-separated) field replaced, or removed when value is ...."""
    event = json.loads(json.dumps(BASE))
    *parents, leaf = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return event


VALID = [
    BASE,
    variant("amount", 12.5),
    variant("amount", 7),
    variant("amount", "-3"),
    variant("remittance", None),
    variant("remittance", ...),
    variant("debtor.agent", None),
    variant("debtor.country", "XK"),
    variant("created_at", "2020-10-01T12:00:00Z"),
    variant("created_at", "2020-10-01 12:00:00.123+0200"),
    variant("extra", {"kept": [1, 2, 3]}),
    variant("id", "x" * MAX_ID_LENGTH),
]
INVALID = [
    variant("id", ...),
    variant("id", ""),
    variant("id", "x" * (MAX_ID_LENGTH + 1)),
    variant("id", 5),
    variant("created_at", "2020-10-01T12:00:00"),
    variant("created_at", "2020-10-01T12:00Z"),
    variant("created_at", "2020-10-01"),
    variant("amount", "1e5"),
    variant("amount", "12,50"),
    variant("amount", True),
    variant("amount", None),
    variant("currency", "eur"),
    variant("currency", "EURO"),
    variant("debtor", ...),
    variant("debtor", "Ann"),
    variant("debtor.name", ""),
    variant("debtor.name", "  "),
    variant("debtor.name", ...),
    variant("debtor.country", "ZZ"),
    variant("creditor.agent", "Bank"),
    variant("remittance", ["a"]),
    [BASE],
    "a string",
]


@pytest.mark.parametrize("event", VALID)
def test_valid_events_pass_both(event: object) -> None:
    """Events the contract allows pass the codec and the JSON Schema."""
    assert codec_accepts(event)
    assert schema_accepts(event)


@pytest.mark.parametrize("event", INVALID)
def test_invalid_events_fail_both(event: object) -> None:
    """Events the contract refuses fail the codec and the JSON Schema."""
    assert not codec_accepts(event)
    assert not schema_accepts(event)


def test_schema_files_are_valid_draft_2020_12() -> None:
    """Every JSON Schema file under schemas/ is itself a valid draft 2020-12 schema."""
    for path in (Path(__file__).resolve().parents[3] / "schemas").glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
