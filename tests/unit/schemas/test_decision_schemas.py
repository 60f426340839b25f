"""The decision record and allowlist entry codecs write what their JSON Schemas describe."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest
from referencing import Registry, Resource

from schemas.decisions import (
    Action,
    AllowEntry,
    Decision,
    Scope,
    decode_allow_entry,
    decode_decision,
    encode_allow_entry,
    encode_decision,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
ENTRY_SCHEMA = json.loads((SCHEMAS / "allowlist_entry.v1.schema.json").read_text())
DECISION_SCHEMA = json.loads((SCHEMAS / "decision_record.v1.schema.json").read_text())
REGISTRY = Registry().with_resource(ENTRY_SCHEMA["$id"], Resource.from_contents(ENTRY_SCHEMA))

ENTRY = AllowEntry(
    entry_id="al-1",
    entity_id="us-eo-2020:bytedance",
    name="tiktok pte ltd",
    scope=Scope.CREDITOR,
    reason="licensed counterparty",
    valid_until="2027-06-30T00:00:00.000Z",
    entity_hash="sha256:" + "a" * 64,
    proposed_by="alice",
    proposed_at="2026-11-30T10:00:00.000Z",
)


def decision(action: Action, entry: AllowEntry | None = None) -> Decision:
    return Decision(
        decision_id="d1",
        case_id="0-12" if entry is None else "allow:al-1",
        event_id="ev-1" if entry is None else None,
        action=action,
        actor="bob",
        roles=["approver"],
        reason="checked",
        at="2026-11-30T10:00:00.000Z",
        watchlist_version="sha256:" + "b" * 64,
        entity_ids=["us-eo-2020:bytedance"],
        entry=entry,
        proposal_id="d0" if action is Action.APPROVE else None,
    )


@pytest.mark.parametrize(
    "record",
    [decision(a) for a in Action if not a.value.startswith("allow")]
    + [decision(Action.ALLOW_PROPOSE, ENTRY)],
)
def test_every_decision_record_matches_its_schema_and_round_trips(record: Decision) -> None:
    """Each action's record validates against decision_record.v1 and decodes to the same record."""
    encoded = encode_decision(record)
    jsonschema.Draft202012Validator(DECISION_SCHEMA, registry=REGISTRY).validate(orjson.loads(encoded))
    assert decode_decision(encoded) == record


def test_an_allowlist_entry_matches_its_schema_and_the_schema_refuses_a_bad_hash() -> None:
    """An entry validates against allowlist_entry.v1; an entity hash that is not sha256 does not."""
    body = orjson.loads(encode_allow_entry(ENTRY))
    validator = jsonschema.Draft202012Validator(ENTRY_SCHEMA)
    validator.validate(body)
    assert decode_allow_entry(encode_allow_entry(ENTRY)) == ENTRY
    assert not validator.is_valid({**body, "entity_hash": "md5:00"})
