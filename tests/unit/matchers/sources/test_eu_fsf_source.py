"""The EU FSF XML 1.1 reader: the real 7-person excerpt, made-up enterprise and weak aliases, broken files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from matchers.sources import load_source
from matchers.sources.eu_fsf import LIST_ID, load_eu_fsf
from matchers.watchlist import Entity, EntityType, NameStrength
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "eu_fsf"
REAL = DATA / "export-2020-excerpt.xml"
MADE_UP = DATA / "made-up.xml"
STRONG, WEAK = NameStrength.STRONG, NameStrength.WEAK


def names(entity: Entity) -> dict[str, NameStrength]:
    return {n.text: n.strength for n in entity.names}


def test_real_excerpt_loads_seven_persons() -> None:
    """Every sanctionEntity of the real export is an individual with id eu-fsf:<logicalId>, in file order."""
    wl = load_eu_fsf(REAL)
    assert wl.list_id == LIST_ID == "eu-fsf"
    assert [e.id for e in wl.entities] == [f"eu-fsf:{n}" for n in (13, 20, 23, 25, 29, 33, 39)]
    assert {e.type for e in wl.entities} == {EntityType.INDIVIDUAL}
    assert "2020-04-15" in wl.description


def test_real_entity_names_programme_and_entry_into_force() -> None:
    """Each wholeName is a strong name; programme is the program; entryIntoForceDate the start."""
    saddam = load_eu_fsf(REAL).entities[0]
    assert names(saddam) == {"Abou Ali": STRONG, "Abu Ali": STRONG, "Saddam Hussein Al-Tikriti": STRONG}
    assert saddam.programs == ("IRQ",)
    assert saddam.effective_from == datetime(2003, 7, 7, tzinfo=UTC)
    assert saddam.effective_until is None


def test_enterprise_is_an_entity_with_a_weak_alias() -> None:
    """enterprise maps to entity; strong="false" is weak; the earliest regulation's date is the start."""
    shipyard = load_eu_fsf(MADE_UP).entities[0]
    assert shipyard.type is EntityType.ENTITY
    assert names(shipyard) == {
        "Joint Stock Company Madeup Shipyard": STRONG,
        "АО Мейдап Верфь": STRONG,
        "Madeup": WEAK,
    }
    assert shipyard.programs == ("RUS", "UKR")
    assert shipyard.effective_from == datetime(2022, 2, 25, tzinfo=UTC)


def test_name_parts_and_strong_wins() -> None:
    """An empty wholeName is built from the name parts; a name given strong and weak is strong."""
    person = load_eu_fsf(MADE_UP).entities[1]
    assert person.primary_name == "Petra Ivanovna Madeupova"
    assert names(person) == {"Petra Ivanovna Madeupova": STRONG, "Petya": WEAK, "Petra Madeupova": STRONG}


def test_dispatch_by_root_element() -> None:
    """load_source reads .xml with the EU FSF root with this reader, and the UN root with the UN reader."""
    assert load_source(str(REAL)).list_id == "eu-fsf"
    un = Path(__file__).resolve().parents[4] / "tests" / "data" / "un" / "extract.xml"
    assert load_source(str(un)).list_id == "un"


def test_unknown_root_is_refused(tmp_path: Path) -> None:
    """An XML file that is neither list names both expected roots."""
    path = tmp_path / "other.xml"
    path.write_text("<sdnList/>", encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"other\.xml: root element <sdnList> is neither"):
        load_source(str(path))


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            'code="enterprise"',
            'code="vessel"',
            r"sanctionEntity #1 \(logicalId 900001\): subjectType 'vessel'",
        ),
        ('logicalId="900002"', 'logicalId=""', r"sanctionEntity #2 has no logicalId"),
        (
            'entryIntoForceDate="2023-06-24"',
            'entryIntoForceDate="24/06/2023"',
            r"900001\).*'24/06/2023' is not a date",
        ),
        (
            'strong="false" regulationLanguage="en" logicalId="990103"',
            'strong="maybe"',
            r"900001\).*strong='maybe'",
        ),
        ('logicalId="900002"', 'logicalId="900001"', r"sanctionEntity #2: 'eu-fsf:900001' appears twice"),
        ("</export>", "", r"not well-formed XML"),
    ],
)
def test_broken_records_are_named(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    """Each defect is a WatchlistError naming the file and the sanctionEntity."""
    path = tmp_path / "broken.xml"
    path.write_text(MADE_UP.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"broken\.xml.*" + pattern):
        load_eu_fsf(path)


def test_no_names_and_no_entities(tmp_path: Path) -> None:
    """An entity without any name, and an export without entities, are refused."""
    text = MADE_UP.read_text(encoding="utf-8")
    start, end = text.index("<sanctionEntity"), text.index("</export>")
    empty = tmp_path / "empty.xml"
    empty.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(WatchlistError, match="holds no sanctionEntity"):
        load_eu_fsf(empty)
    nameless = tmp_path / "nameless.xml"
    nameless.write_text(text.replace('wholeName="Petya"', 'wholeName=""'), encoding="utf-8")
    stripped = "\n".join(line for line in text.splitlines() if "990201" not in line and "99020" not in line)
    nameless.write_text(stripped, encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"900002\) has no nameAlias with a name"):
        load_eu_fsf(nameless)
