"""The native triage reads the same event fields as the Python owner of event validity and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.events import Agent, Party, PaymentEvent

_native = pytest.importorskip("matchers._native", reason="the native fast path is not built")

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "schemas" / "payment_event.v1.schema.json").read_text()
)


def test_the_triage_field_catalogue_is_the_python_owners() -> None:
    """Each object's fields in the Rust parse are the msgspec struct's: neither gains a field alone."""
    python = {
        "event": PaymentEvent.__struct_fields__,
        "party": Party.__struct_fields__,
        "agent": Agent.__struct_fields__,
    }
    assert {name: sorted(fields) for name, fields in _native.FIELDS.items()} == {
        name: sorted(fields) for name, fields in python.items()
    }


def test_the_triage_field_catalogue_is_the_schemas() -> None:
    """Each object's fields in the Rust parse are the JSON Schema's declared properties."""
    schema = {
        "event": SCHEMA["properties"],
        "party": SCHEMA["$defs"]["party"]["properties"],
        "agent": SCHEMA["$defs"]["agent"]["properties"],
    }
    assert {name: sorted(fields) for name, fields in _native.FIELDS.items()} == {
        name: sorted(fields) for name, fields in schema.items()
    }
