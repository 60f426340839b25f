"""The UN consolidated-list XML reader: a real extract, broken files and the full bundled snapshot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from matchers.sources import BUNDLED_UN
from matchers.sources.un import LIST_ID, load_un, split_alias
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "un"
EXTRACT = DATA / "extract.xml"
STRONG, WEAK = NameStrength.STRONG, NameStrength.WEAK


def by_id(watchlist: Watchlist) -> dict[str, Entity]:
    return {e.id: e for e in watchlist.entities}


@pytest.fixture(scope="module")
def extract() -> dict[str, Entity]:
    return by_id(load_un(EXTRACT))


@pytest.fixture(scope="module")
def full() -> Watchlist:
    return load_un(BUNDLED_UN)


# --- the real extract -------------------------------------------------------------------------


def test_extract_loads_individuals_then_entities() -> None:
    """Every INDIVIDUAL and ENTITY becomes one entity with id un:<REFERENCE_NUMBER>, in file order."""
    wl = load_un(EXTRACT)
    assert wl.list_id == LIST_ID == "un"
    assert wl.source == str(EXTRACT)
    assert [e.id for e in wl.entities] == [
        "un:CDi.001",
        "un:CDi.002",
        "un:IRi.039",
        "un:QDi.290",
        "un:QDi.299",
        "un:QDi.426",
        "un:CDe.001",
        "un:QDe.131",
        "un:QDe.134",
    ]
    assert [e.type for e in wl.entities] == [EntityType.INDIVIDUAL] * 6 + [EntityType.ENTITY] * 3


def test_description_names_the_generation_date() -> None:
    """The watchlist description carries the list's dateGenerated."""
    expected = "UN Security Council Consolidated List, generated 2026-02-27T00:00:09.554Z"
    assert load_un(EXTRACT).description == expected


def test_individual_name_joins_four_parts(extract: dict[str, Entity]) -> None:
    """An individual's primary name is FIRST to FOURTH_NAME joined with single spaces."""
    assert extract["un:QDi.299"].primary_name == "IBRAHIM AWWAD IBRAHIM ALI AL-BADRI AL-SAMARRAI"
    assert extract["un:CDi.002"].primary_name == "FRANK KAKOLELE BWAMBALE"


def test_empty_alias_is_skipped(extract: dict[str, Entity]) -> None:
    """An alias element with an empty ALIAS_NAME adds no name."""
    assert extract["un:CDi.001"].names == (ListedName("ERIC BADEGE", STRONG),)


def test_low_quality_aliases_are_weak_and_others_strong(extract: dict[str, Entity]) -> None:
    """QUALITY Low gives a weak name; Good gives a strong one; the original-script name is strong."""
    assert extract["un:QDi.299"].names == (
        ListedName("IBRAHIM AWWAD IBRAHIM ALI AL-BADRI AL-SAMARRAI", STRONG),
        ListedName("إبراهيم عواد إبراهيم علي البدري السامرائي", STRONG),
        ListedName("Dr. Ibrahim ‘Awwad Ibrahim ’Ali al-Badri al-Samarrai’", STRONG),
        ListedName("أبو دعاء", WEAK),
        ListedName("Dr. Ibrahim", WEAK),
        ListedName(
            "أبو بكر البغدادي الحسيني القريشي"
            " (Abu Bakr al-Baghdadi al-Husayni al-Quraishi; Abu Bakr al-Baghdadi)",
            WEAK,
        ),
    )


def test_aka_and_fka_qualities_are_strong(extract: dict[str, Entity]) -> None:
    """Entity aliases whose QUALITY is a.k.a. or f.k.a. are strong; an entity's name is its FIRST_NAME."""
    adf = extract["un:CDe.001"]
    assert adf.names == (
        ListedName("ADF", STRONG),
        ListedName("Allied Democratic Forces", STRONG),
        ListedName("Forces Démocratiques Alliées-Armée Nationale de Libération de l’Ouganda", STRONG),
        ListedName("ADF/NALU", STRONG),
        ListedName("NALU", STRONG),
    )
    assert adf.programs == ("DRC",)


def test_repeated_alias_is_listed_once(extract: dict[str, Entity]) -> None:
    """An alias the list gives twice (Dokka Umarov) appears once; the Cyrillic original script is kept."""
    assert [n.text for n in extract["un:QDi.290"].names] == [
        "DOKU KHAMATOVICH UMAROV",
        "Умаров Доку Хаматович",
        "Lom-ali Butayev (Butaev)",
        "Dokka Umarov",
    ]


def test_wrapped_names_are_joined_on_one_line(extract: dict[str, Entity]) -> None:
    """A name the XML wraps over two indented lines becomes one line with single spaces."""
    assert extract["un:QDi.426"].names[1] == ListedName("أمیر محمد سعید عبد الرحمن السلبي", STRONG)
    assert extract["un:QDe.134"].names[1] == ListedName("حركة التوحيد والجهاد في غرب إفريقيا", STRONG)


def test_alias_lists_are_split_into_names(extract: dict[str, Entity]) -> None:
    """An ALIAS_NAME holding several names separated by ';' gives one name each, with its quality."""
    assert extract["un:IRi.039"].names[-3:] == (
        ListedName("Haj Qasem", WEAK),
        ListedName("Haji Qassem", WEAK),
        ListedName("Sardar Soleimani", WEAK),
    )


def test_alias_split_keeps_brackets_and_enumerations_apart() -> None:
    """';' inside brackets does not split; 'a) … b) …' enumerations do."""
    assert split_alias("X (Abu Bakr; Abu Dua)") == ["X (Abu Bakr; Abu Dua)"]
    assert split_alias("Mohammed Sabet b) M. Javad Sabet; M. Jawad Sabet") == [
        "Mohammed Sabet",
        "M. Javad Sabet",
        "M. Jawad Sabet",
    ]
    assert split_alias(") Abu Bakr") == ["Abu Bakr"]


def test_programs_and_dates(extract: dict[str, Entity]) -> None:
    """The program is UN_LIST_TYPE, and no effective dates are set (LISTED_ON is listing metadata)."""
    assert extract["un:QDi.290"].programs == ("Al-Qaida",)
    assert extract["un:IRi.039"].programs == ("Iran",)
    assert all(e.effective_from is None and e.effective_until is None for e in extract.values())


# --- broken files -----------------------------------------------------------------------------


def test_truncated_file_fails_with_its_line() -> None:
    """A file that stops inside an element is not well-formed XML, reported with the line."""
    with pytest.raises(WatchlistError, match="not well-formed XML") as caught:
        load_un(DATA / "truncated.xml")
    assert caught.value.source == str(DATA / "truncated.xml")
    assert caught.value.line == 61


def test_mismatched_tag_fails_with_its_line() -> None:
    """A closing tag that does not match is reported on its line."""
    with pytest.raises(WatchlistError, match="mismatched tag") as caught:
        load_un(DATA / "mismatched-tag.xml")
    assert caught.value.line == 7


def test_empty_file_fails() -> None:
    """A zero-byte file is not a list."""
    with pytest.raises(WatchlistError, match="no element found") as caught:
        load_un(DATA / "empty.xml")
    assert caught.value.line == 1


def test_wrong_root_fails() -> None:
    """Well-formed XML with another root element is refused, naming the expected root."""
    with pytest.raises(WatchlistError, match="<sdnList>, expected <CONSOLIDATED_LIST>"):
        load_un(DATA / "wrong-root.xml")


def test_no_entries_fails() -> None:
    """A consolidated list without any individual or entity is an empty list and must not load."""
    with pytest.raises(WatchlistError, match="no INDIVIDUAL or ENTITY"):
        load_un(DATA / "no-entries.xml")


def test_entry_without_reference_fails() -> None:
    """An entry without REFERENCE_NUMBER cannot get an id and is refused, naming its DATAID."""
    with pytest.raises(WatchlistError, match=r"INDIVIDUAL #1 \(DATAID 6907993\) has no REFERENCE_NUMBER"):
        load_un(DATA / "no-reference.xml")


def test_missing_file_fails(tmp_path: Path) -> None:
    """A path that does not exist fails with the path as source."""
    missing = tmp_path / "nope.xml"
    with pytest.raises(WatchlistError, match="cannot read") as caught:
        load_un(missing)
    assert caught.value.source == str(missing)


def test_duplicate_reference_fails(tmp_path: Path) -> None:
    """The same REFERENCE_NUMBER twice is refused."""
    text = EXTRACT.read_text(encoding="utf-8")
    text = text.replace("CDi.002</REFERENCE_NUMBER>", "CDi.001</REFERENCE_NUMBER>")
    path = tmp_path / "dup.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"'un:CDi\.001' appears twice"):
        load_un(path)


# --- the full bundled snapshot ----------------------------------------------------------------


def test_full_snapshot_counts(full: Watchlist) -> None:
    """The bundled 2026-02-27 list loads 730 individuals and 273 entities with 4,170 names, 617 weak."""
    assert Counter(e.type for e in full.entities) == {EntityType.INDIVIDUAL: 730, EntityType.ENTITY: 273}
    assert full.name_count == 4170
    assert sum(n.strength is WEAK for e in full.entities for n in e.names) == 617
    assert len({e.id for e in full.entities}) == 1003


def test_full_snapshot_spot_checks(full: Watchlist) -> None:
    """Known entries read back as the UN publishes them."""
    entities = by_id(full)
    soleimani = entities["un:IRi.039"]
    assert soleimani.primary_name == "QASEM SOLEIMANI"
    assert soleimani.names[-1].strength is WEAK
    assert entities["un:QDe.131"].names == (
        ListedName("EMARAT KAVKAZ", STRONG),
        ListedName("Эмират Кавказ", STRONG),
    )
    assert Counter(p for e in full.entities for p in e.programs)["Al-Qaida"] == 341


def test_full_snapshot_names_are_single_line(full: Watchlist) -> None:
    """No name is empty or contains a line break or doubled space."""
    for entity in full.entities:
        for name in entity.names:
            assert name.text
            assert "\n" not in name.text
            assert "  " not in name.text
