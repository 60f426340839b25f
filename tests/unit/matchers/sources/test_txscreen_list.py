"""The txscreen-watchlist/v1 reader (YAML and JSON) and its JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from matchers.sources.txscreen_list import FORMAT_TAG, load_txscreen_list, parse_txscreen_list
from matchers.watchlist import EntityType, ListedName, NameStrength
from schemas.errors import WatchlistError

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data" / "txscreen_list"
SCHEMA = json.loads((ROOT / "schemas" / "watchlist.v1.schema.json").read_text(encoding="utf-8"))


def as_json(document: Any) -> Any:
    """A decoded YAML document as JSON would carry it (dates and timestamps as ISO strings)."""
    return json.loads(json.dumps(document, default=lambda v: v.isoformat()))


def schema_errors(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [e.message for e in validator.iter_errors(as_json(document))]


def minimal(**entity: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "a", "type": "entity", "names": ["Alpha"]}
    base.update(entity)
    return {"format": FORMAT_TAG, "list_id": "t", "entities": [base]}


# --- valid files ------------------------------------------------------------------------------


def test_yaml_list_loads_every_field() -> None:
    """A YAML list gives prefixed ids, types, strong and weak names, programs and UTC-aware bounds."""
    wl = load_txscreen_list(DATA / "valid.yaml")
    assert wl.list_id == "acme-internal"
    assert wl.source == str(DATA / "valid.yaml")
    assert wl.description == "Parties our compliance team blocks on top of the official lists"
    globex, doe, vessel, aircraft = wl.entities
    assert [e.id for e in wl.entities] == [
        "acme-internal:globex",
        "acme-internal:doe-john",
        "acme-internal:sea-breeze",
        "acme-internal:ep-abc",
    ]
    assert globex.names == (
        ListedName("Globex Corporation", NameStrength.STRONG),
        ListedName("Globex", NameStrength.STRONG),
        ListedName("GX", NameStrength.WEAK),
    )
    assert globex.programs == ("INTERNAL-1", "INTERNAL-2")
    assert globex.effective_from == datetime(2024, 1, 1, tzinfo=UTC)
    assert globex.effective_until is None
    assert doe.type is EntityType.INDIVIDUAL
    assert doe.primary_name == "DOE, John Quincy"
    assert doe.names[1].text == "Иван Доу"
    assert doe.effective_from == datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert doe.effective_until == datetime(2025, 3, 1, tzinfo=UTC)
    assert (vessel.type, aircraft.type) == (EntityType.VESSEL, EntityType.AIRCRAFT)
    assert aircraft.effective_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert all(e.list_id == "acme-internal" for e in wl.entities)


def test_json_list_loads() -> None:
    """The same format in JSON loads the same way, with string dates and offsets."""
    wl = load_txscreen_list(DATA / "valid.json")
    (globex,) = wl.entities
    assert globex.id == "acme-internal-json:globex"
    assert globex.names[1] == ListedName("GX", NameStrength.WEAK)
    assert globex.effective_from == datetime(2024, 1, 1, tzinfo=UTC)
    assert globex.effective_until == datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date(2020, 9, 20), datetime(2020, 9, 20, tzinfo=UTC)),
        (datetime(2020, 9, 20, 6, tzinfo=UTC), datetime(2020, 9, 20, 6, tzinfo=UTC)),
        ("2020-09-20", datetime(2020, 9, 20, tzinfo=UTC)),
        ("2020-09-20T06:00:00Z", datetime(2020, 9, 20, 6, tzinfo=UTC)),
        ("2020-09-20T06:00:00.5-04:00", datetime(2020, 9, 20, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_effective_bounds_accept_dates_and_timestamps(raw: Any, expected: datetime) -> None:
    """Bounds may be YAML dates, YAML timestamps, date strings (00:00 UTC) or RFC 3339 strings with offset."""
    (entity,) = parse_txscreen_list(minimal(effective_from=raw), "test").entities
    assert entity.effective_from == expected
    assert entity.effective_from is not None
    assert entity.effective_from.tzinfo is not None


@pytest.mark.parametrize("raw", ["20/09/2020", "2020-09-20T06:00", "2020-13-01", 20200920, True])
def test_effective_bounds_refuse_other_forms(raw: Any) -> None:
    """Anything else as a bound is refused with the entity and field named."""
    with pytest.raises(WatchlistError, match=r"entities\[0\] \(id 'a'\) 'effective_from'"):
        parse_txscreen_list(minimal(effective_from=raw), "test")


def test_valid_files_match_the_json_schema() -> None:
    """The example files satisfy the published JSON Schema."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert schema_errors(DATA / "valid.yaml") == []
    assert schema_errors(DATA / "valid.json") == []


# --- broken files: each has one defect and a precise message ----------------------------------

A0, B1 = "entities[0] (id 'a')", "entities[1] (id 'b')"
# file -> (message fragment, line or None)
BROKEN = {
    "unknown-format.yaml": ("'format' is 'txscreen-watchlist/v2', expected 'txscreen-watchlist/v1'", None),
    "duplicate-ids.yaml": ("entities[2] repeats the id 'a' of entities[0]", None),
    "empty-names.yaml": (f"{B1} 'names' must be a non-empty list", None),
    "blank-name.yaml": (f"{A0} names[1] is empty", None),
    "from-not-before-until.yaml": (f"{A0} 'effective_from' 2021-06-09T00:00:00+00:00 is not before", None),
    "unknown-type.yaml": (f"{A0} 'type' 'company' is not one of individual, entity, vessel, aircraft", None),
    "no-entities.yaml": ("'entities' must be a non-empty list", None),
    "naive-timestamp.yaml": (f"{A0} 'effective_from' 2020-09-20 00:00:00 has no UTC offset", None),
    "duplicate-key.yaml": ("not valid YAML (duplicate key 'effective_until')", 8),
    "unknown-key.yaml": (f"{A0} has unknown key 'effective_untill'", None),
    "number-id.yaml": ("entities[0] 'id' is a number (1001), expected a string (quote it in YAML)", None),
    "bad-strength.yaml": (f"{A0} names[0] 'strength' 'wek' is not strong or weak", None),
    "bad-list-id.yaml": ("'list_id' 'Broken List' does not match", None),
    "bad-syntax.yaml": ("not valid YAML", 7),
    "bad-syntax.json": ("not valid JSON", 4),
    "empty.yaml": ("the file is empty", None),
}
# Decodable documents the JSON Schema cannot refuse: it has no uniqueness by key, no ordering of two
# fields, and the decoder already dropped the repeated key.
SCHEMA_CANNOT_TELL = {"duplicate-ids.yaml", "from-not-before-until.yaml", "duplicate-key.yaml"}
NOT_A_DOCUMENT = {"bad-syntax.yaml", "bad-syntax.json", "empty.yaml"}


@pytest.mark.parametrize(("name", "message", "line"), [(k, *v) for k, v in BROKEN.items()])
def test_broken_file_is_refused(name: str, message: str, line: int | None) -> None:
    """Each defect fails closed with one sentence naming file, entity and field (and the line if known)."""
    path = DATA / name
    with pytest.raises(WatchlistError) as caught:
        load_txscreen_list(path)
    assert message in caught.value.reason
    assert caught.value.source == str(path)
    assert caught.value.line == line


@pytest.mark.parametrize("name", sorted(set(BROKEN) - NOT_A_DOCUMENT))
def test_json_schema_agrees_where_it_can(name: str) -> None:
    """The JSON Schema refuses the same defects, except those it cannot express (duplicates, ordering)."""
    assert bool(schema_errors(DATA / name)) is (name not in SCHEMA_CANNOT_TELL)


def test_duplicate_json_key_is_refused(tmp_path: Path) -> None:
    """A JSON object repeating a key is refused instead of keeping the last value."""
    path = tmp_path / "dup.json"
    path.write_text('{"format": "txscreen-watchlist/v1", "list_id": "a", "list_id": "b", "entities": []}')
    with pytest.raises(WatchlistError, match="duplicate key 'list_id'"):
        load_txscreen_list(path)


def test_non_mapping_document_is_refused(tmp_path: Path) -> None:
    """A document that is a list rather than a mapping is refused."""
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(WatchlistError, match="the document is a list, expected a mapping"):
        load_txscreen_list(path)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """A file that is not UTF-8 fails with a clear message rather than a decode traceback."""
    path = tmp_path / "latin.yaml"
    path.write_bytes("list_id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(WatchlistError, match="not UTF-8"):
        load_txscreen_list(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """A txscreen list path that does not exist fails naming it."""
    with pytest.raises(WatchlistError, match="cannot read the file") as caught:
        load_txscreen_list(tmp_path / "none.yaml")
    assert caught.value.source == str(tmp_path / "none.yaml")


def test_yaml_booleans_get_a_quoting_hint() -> None:
    """A YAML 1.1 boolean where a name belongs (an unquoted NO) is refused with a hint to quote it."""
    document = yaml.safe_load(
        "format: txscreen-watchlist/v1\nlist_id: t\nentities:\n  - {id: a, type: entity, names: [NO]}\n"
    )
    expected = r"names\[0\] is a boolean \(False\), expected a string \(quote it"
    with pytest.raises(WatchlistError, match=expected):
        parse_txscreen_list(document, "test")
