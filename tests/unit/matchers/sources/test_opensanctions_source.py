"""The OpenSanctions FollowTheMoney reader: real excerpts, a made-up file for rarer schemas, broken files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from matchers.sources import load_source
from matchers.sources.opensanctions import load_opensanctions
from matchers.watchlist import Entity, EntityType, NameStrength, Watchlist
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "opensanctions"
DEFAULT = DATA / "default-2024-excerpt.ftm.json"
EU = DATA / "eu_fsf-2022-excerpt.ftm.json"
MADE_UP = DATA / "made-up.ftm.json"
STRONG, WEAK = NameStrength.STRONG, NameStrength.WEAK


def by_id(watchlist: Watchlist) -> dict[str, Entity]:
    return {e.id: e for e in watchlist.entities}


def names(entity: Entity) -> dict[str, NameStrength]:
    return {n.text: n.strength for n in entity.names}


def test_real_multi_list_excerpt_maps_schemas_to_types() -> None:
    """Person is an individual; Organization, Company, LegalEntity are entities; Sanctions are not parties."""
    entities = by_id(load_opensanctions(DEFAULT))
    assert entities["opensanctions:NK-eX3dss4iNsc8ym8WLiY9sV"].type is EntityType.INDIVIDUAL
    assert entities["opensanctions:NK-H62A9T7WLJGEYmxABrWunP"].type is EntityType.ENTITY
    assert len(entities) == 4
    assert {e.list_id for e in entities.values()} == {"opensanctions"}  # targets from several datasets
    made_up = by_id(load_opensanctions(DATA / "made-up-topics.ftm.json"))
    assert made_up["opensanctions:tx-company-1"].type is EntityType.ENTITY
    assert made_up["opensanctions:tx-legal-1"].type is EntityType.ENTITY


def test_counter_sanctions_only_targets_are_skipped_and_counted() -> None:
    """A target listed only by counter-sanctions (Lockheed Martin, by China) is skipped and counted."""
    wl = load_opensanctions(DEFAULT)
    entities = by_id(wl)
    assert "opensanctions:NK-mz7Dgcw5RGh4VRpKjKcnXB" not in entities  # Lockheed Martin: sanction.counter only
    assert "opensanctions:ir-san-d5ef633147e882dde2963a180438d7c2075bc885" not in entities
    assert "2 counter-sanctions targets (sanction.counter) skipped" in wl.description


def test_weak_alias_is_weak_and_caption_is_primary() -> None:
    """weakAlias values are weak names; name and alias values are strong; the caption comes first."""
    person = by_id(load_opensanctions(DEFAULT))["opensanctions:NK-eX3dss4iNsc8ym8WLiY9sV"]
    assert person.primary_name == "USMAN BACHRUMSYAH MENNOR"
    strengths = names(person)
    assert list(strengths.values()).count(WEAK) > 0
    assert strengths["USMAN BACHRUMSYAH MENNOR"] is STRONG


def test_effective_from_comes_from_the_sanction_start() -> None:
    """A party whose every Sanction has a startDate is in force from the earliest one."""
    org = by_id(load_opensanctions(DEFAULT))["opensanctions:NK-HjiV3h2mvToKmbz8KCVqpd"]
    assert org.effective_from == datetime(2024, 5, 19, tzinfo=UTC)
    assert org.effective_until is None


def test_an_open_sanction_leaves_the_bounds_open() -> None:
    """When one linked Sanction has no start or end, that bound stays open (fail closed)."""
    org = by_id(load_opensanctions(DEFAULT))["opensanctions:NK-H62A9T7WLJGEYmxABrWunP"]
    assert org.effective_from is None
    assert org.effective_until is None
    assert org.programs  # programs of every linked Sanction


def test_single_dataset_export_gets_its_own_list_id() -> None:
    """An export of one dataset loads as opensanctions-<dataset>, so it can sit beside a collection."""
    wl = load_opensanctions(EU)
    assert wl.list_id == "opensanctions-eu_fsf"
    assert {e.type for e in wl.entities} == {EntityType.INDIVIDUAL, EntityType.ENTITY}
    assert all(e.effective_from is not None for e in wl.entities)


def test_vessel_airplane_partial_dates_and_skipped_targets() -> None:
    """Vessel/Airplane map to vessel/aircraft; partial dates widen; non-targets and other schemas skip."""
    wl = load_opensanctions(MADE_UP)
    entities = by_id(wl)
    assert set(entities) == {
        "opensanctions:tx-vessel-1",
        "opensanctions:tx-plane-1",
        "opensanctions:tx-person-1",
    }
    vessel, plane, person = (
        entities[f"opensanctions:{i}"] for i in ("tx-vessel-1", "tx-plane-1", "tx-person-1")
    )
    assert vessel.type is EntityType.VESSEL
    assert plane.type is EntityType.AIRCRAFT
    assert names(vessel) == {"OCEAN DAWN": STRONG, "DAWN OF THE OCEAN": STRONG, "DAWN": WEAK}
    assert (vessel.effective_from, vessel.effective_until) == (
        datetime(2021, 3, 1, tzinfo=UTC),
        datetime(2023, 1, 1, tzinfo=UTC),
    )
    assert names(plane) == {"EP-TXA": STRONG, "EP-TXB": STRONG}
    assert plane.effective_from is None  # one of its two sanctions has no startDate
    assert person.primary_name == "Ivan Madeupov"
    assert names(person)["Vanya"] is WEAK
    assert person.effective_from == datetime(2019, 5, 1, tzinfo=UTC)
    assert person.effective_until == datetime(2031, 1, 16, tzinfo=UTC)
    assert person.programs == ("MADE-UP", "OTHER")
    assert "1 targets of unscreened schemas skipped" in wl.description


@pytest.mark.parametrize("name", ["x.ftm.json", "x.jsonl", "x.ndjson", "x.json"])
def test_dispatch_by_suffix_or_content(tmp_path: Path, name: str) -> None:
    """load_source picks this reader for .ftm.json/.jsonl/.ndjson, and .json starting with an FtM entity."""
    path = tmp_path / name
    path.write_bytes(MADE_UP.read_bytes())
    assert load_source(str(path)).list_id == "opensanctions-tx_made_up"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.ftm.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_truncated_file_names_the_line(tmp_path: Path) -> None:
    """A download cut mid-line is refused with the file and line of the broken record."""
    body = DEFAULT.read_bytes()
    path = tmp_path / "cut.ftm.json"
    path.write_bytes(body[: len(body) - 200])
    lines = body[: len(body) - 200].count(b"\n") + 1
    with pytest.raises(WatchlistError, match=rf"cut\.ftm\.json:{lines}: not a JSON object"):
        load_opensanctions(path)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('{"id":"a","schema":"Person","properties":{},"target":true}\n', r":1: Person 'a' has no name"),
        ('{"schema":"Person","properties":{"name":["A"]}}\n', r":1: the entity has no 'id'"),
        ('{"id":"a","schema":"Person","properties":{"name":"A"}}\n', r":1: entity 'a': 'name' is not a list"),
        (
            '{"id":"a","schema":"Person","properties":{"name":["A"]}}\n'
            '{"id":"a","schema":"Person","properties":{"name":["B"]}}\n',
            r":2: entity 'opensanctions:a' appears twice",
        ),
        (
            '{"id":"a","schema":"Person","properties":{"name":["A"]}}\n'
            '{"id":"s","schema":"Sanction","properties":{"entity":["a"],"startDate":["soon"]}}\n',
            r":2: sanction 's': startDate 'soon' is not a date",
        ),
        ('{"id":"s","schema":"Sanction","properties":{"entity":["a"]}}\n', r"holds no target Person"),
        ("", r"holds no target Person"),
    ],
)
def test_broken_records_are_named(tmp_path: Path, text: str, pattern: str) -> None:
    """Each defect is a WatchlistError naming the file, the line and the record."""
    with pytest.raises(
        WatchlistError, match=r"broken\.ftm\.json" + (pattern if pattern[0] == ":" else ".*" + pattern)
    ):
        load_opensanctions(_write(tmp_path, text))
