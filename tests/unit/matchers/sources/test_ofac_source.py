"""The OFAC SDN legacy CSV reader: real extracts, broken folders and the full bundled snapshot."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from matchers.sources import BUNDLED_OFAC
from matchers.sources.ofac import LIST_ID, load_ofac, remark_aliases, split_programs
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "ofac"
EXTRACT = DATA / "extract"
STRONG, WEAK = NameStrength.STRONG, NameStrength.WEAK


def by_id(watchlist: Watchlist) -> dict[str, Entity]:
    return {e.id: e for e in watchlist.entities}


def names(entity: Entity, strength: NameStrength | None = None) -> list[str]:
    return [n.text for n in entity.names if strength is None or n.strength is strength]


@pytest.fixture(scope="module")
def extract() -> dict[str, Entity]:
    return by_id(load_ofac(EXTRACT))


@pytest.fixture(scope="module")
def full() -> Watchlist:
    return load_ofac(BUNDLED_OFAC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the extract, for damaging one file per test."""
    target = tmp_path / "sdn"
    shutil.copytree(EXTRACT, target)
    return target


def append_row(path: Path, row: bytes) -> None:
    """Insert a CRLF row before the trailing \\x1a line."""
    data = path.read_bytes()
    assert data.endswith(b"\x1a")
    path.write_bytes(data[:-1] + row + b"\r\n\x1a")


# --- the real extract -------------------------------------------------------------------------


def test_extract_loads_every_row_in_file_order() -> None:
    """Each sdn.csv row becomes one entity, in file order, with id ofac-sdn:<ent_num> and list id ofac-sdn."""
    wl = load_ofac(EXTRACT)
    assert wl.list_id == LIST_ID == "ofac-sdn"
    assert wl.source == str(EXTRACT)
    assert [e.id for e in wl.entities] == [
        "ofac-sdn:306",
        "ofac-sdn:4632",
        "ofac-sdn:6365",
        "ofac-sdn:6925",
        "ofac-sdn:15036",
        "ofac-sdn:15431",
        "ofac-sdn:21040",
        "ofac-sdn:28264",
    ]
    assert all(e.list_id == "ofac-sdn" for e in wl.entities)


def test_primary_strong_alias_and_weak_remark_alias(extract: dict[str, Entity]) -> None:
    """SDN_Name is the strong primary, alt.csv names are strong and Remarks a.k.a. names are weak."""
    assert extract["ofac-sdn:306"].names == (
        ListedName("BANCO NACIONAL DE CUBA", STRONG),
        ListedName("NATIONAL BANK OF CUBA", STRONG),
        ListedName("BNC", WEAK),
    )


def test_types_map_from_sdn_type_column(extract: dict[str, Entity]) -> None:
    """individual, vessel and aircraft map to their types and -0- means an entity."""
    assert extract["ofac-sdn:6365"].type is EntityType.INDIVIDUAL
    assert extract["ofac-sdn:15036"].type is EntityType.VESSEL
    assert extract["ofac-sdn:15431"].type is EntityType.AIRCRAFT
    assert extract["ofac-sdn:306"].type is EntityType.ENTITY


def test_several_programs_are_split(extract: dict[str, Entity]) -> None:
    """A Program field written IRAN] [SDGT] [IRGC] [IFSR gives four programs in order."""
    assert extract["ofac-sdn:4632"].programs == ("IRAN", "SDGT", "IRGC", "IFSR")
    assert extract["ofac-sdn:306"].programs == ("CUBA",)


def test_individual_names_are_kept_as_written(extract: dict[str, Entity]) -> None:
    """Individual names keep OFAC's LAST, First layout and case; all five aliases are strong."""
    bin_ladin = extract["ofac-sdn:6365"]
    assert bin_ladin.primary_name == "BIN LADIN, Usama bin Muhammad bin Awad"
    assert names(bin_ladin, STRONG) == [
        "BIN LADIN, Usama bin Muhammad bin Awad",
        "BIN LADIN, Usama",
        "BIN LADEN, Usama",
        "BIN LADEN, Osama",
        "BIN LADIN, Osama",
        "BIN LADIN, Osama bin Muhammad bin Awad",
    ]
    assert names(bin_ladin, WEAK) == []


def test_weak_aliases_keep_inner_quotes(extract: dict[str, Entity]) -> None:
    """A remark alias ends at the quote that closes the item, so names with apostrophes survive whole."""
    assert names(extract["ofac-sdn:6925"], WEAK) == [
        "AHMED, A.",
        "KHABAR, Abu",
        "BAKR, Abu",
        "'FOOPIE'",
        "'FUPI'",
        "'AHMED THE TANZANIAN'",
    ]
    assert names(extract["ofac-sdn:21040"], WEAK) == ["SUE RC 'KMP'"]


def test_fka_in_remarks_is_a_weak_alias(extract: dict[str, Entity]) -> None:
    """A vessel's f.k.a. 'ALPHA' in Remarks is a weak name of that vessel."""
    assert names(extract["ofac-sdn:15036"], WEAK) == ["ALPHA"]


def test_remarks_continue_in_sdn_comments(extract: dict[str, Entity]) -> None:
    """Remarks are joined with their sdn_comments.csv continuation before weak aliases are extracted."""
    li = extract["ofac-sdn:28264"]
    assert li.names == (
        ListedName("LI, Jiadong", STRONG),
        ListedName("blackjack1987", WEAK),
        ListedName("khaleesi", WEAK),
    )
    assert li.programs == ("DPRK3", "CYBER2")


def test_no_effective_dates(extract: dict[str, Entity]) -> None:
    """OFAC entries carry no effective bounds: the snapshot applies as current."""
    assert all(e.effective_from is None and e.effective_until is None for e in extract.values())


def test_source_can_be_named() -> None:
    """The source recorded on the watchlist is the one given, else the folder path."""
    assert load_ofac(EXTRACT, source="ofac").source == "ofac"


@pytest.mark.parametrize(
    ("remarks", "expected"),
    [
        ("a.k.a. 'BNC'.", ["BNC"]),
        ("DOB 1957; a.k.a. 'A'; f.k.a. 'B'; n.k.a. 'C'; Linked To: X.", ["A", "B", "C"]),
        ("a.k.a. 'ABU 'ABD AL-'AZIZ'; a.k.a. 'MERA'I'.", ["ABU 'ABD AL-'AZIZ", "MERA'I"]),
        ("a.k.a. 'ABU AL-WAFA''; a.k.a. 'X'", ["ABU AL-WAFA'", "X"]),
        ("Linked To: AL-QA'IDA; alt. DOB 1960.", []),
        ("a.k.a. ''.", []),
        ("", []),
    ],
)
def test_remark_aliases(remarks: str, expected: list[str]) -> None:
    """Only ``a.k.a./f.k.a./n.k.a. '…'`` items of a Remarks field yield names; empty quotes yield none."""
    assert remark_aliases(remarks) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("CUBA", ("CUBA",)),
        ("SDGT] [IRGC", ("SDGT", "IRGC")),
        ("CAATSA - RUSSIA", ("CAATSA - RUSSIA",)),
        ("-0- ", ()),
    ],
)
def test_split_programs(field: str, expected: tuple[str, ...]) -> None:
    """Program fields split on '] [' and the -0- marker gives no program."""
    assert split_programs(field) == expected


# --- optional side files ----------------------------------------------------------------------


def test_side_files_are_optional(folder: Path) -> None:
    """add.csv and sdn_comments.csv may be absent; only the continued weak aliases are then lost."""
    (folder / "add.csv").unlink()
    (folder / "sdn_comments.csv").unlink()
    li = by_id(load_ofac(folder))["ofac-sdn:28264"]
    assert names(li) == ["LI, Jiadong"]


def test_empty_alt_file_is_accepted(folder: Path) -> None:
    """An alt.csv holding only the end-of-file line (or nothing, in an extract) means no strong aliases."""
    (folder / "alt.csv").write_bytes(b"\x1a")
    assert names(by_id(load_ofac(folder))["ofac-sdn:306"]) == ["BANCO NACIONAL DE CUBA", "BNC"]
    (folder / "alt.csv").write_bytes(b"")
    assert names(by_id(load_ofac(folder, extract=True))["ofac-sdn:306"]) == ["BANCO NACIONAL DE CUBA", "BNC"]


# --- broken folders ---------------------------------------------------------------------------


def test_truncated_row_fails_with_its_line() -> None:
    """A row with too few fields (a download that stopped) fails closed naming file and line."""
    with pytest.raises(WatchlistError, match="3 fields, expected 12") as caught:
        load_ofac(DATA / "truncated-row")
    assert caught.value.source == str(DATA / "truncated-row" / "sdn.csv")
    assert caught.value.line == 3


@pytest.mark.parametrize("name", ["sdn.csv", "alt.csv", "add.csv"])
def test_file_cut_at_a_line_boundary_fails(tmp_path: Path, name: str) -> None:
    """The real set with one file cut cleanly after a row fails naming that file, unless it is an extract."""
    folder = tmp_path / "ofac"
    shutil.copytree(BUNDLED_OFAC, folder)
    path = folder / name
    lines = path.read_bytes().split(b"\r\n")
    path.write_bytes(b"\r\n".join(lines[: len(lines) // 2]) + b"\r\n")
    with pytest.raises(WatchlistError) as caught:
        load_ofac(folder)
    assert str(caught.value) == (
        f"{path}: {name} does not end with the \\x1a end-of-file byte OFAC writes, so it may be cut short "
        "(for a hand-made extract, give the source as extract:FOLDER)"
    )
    assert caught.value.source == str(path)
    if name != "sdn.csv":  # a cut sdn.csv leaves side-file rows without their entry
        assert len(load_ofac(folder, extract=True).entities) == len(load_ofac(BUNDLED_OFAC).entities)


def test_comments_file_needs_no_end_of_file_byte(folder: Path) -> None:
    """sdn_comments.csv, which OFAC writes without the end-of-file byte, loads as it is."""
    assert not (folder / "sdn_comments.csv").read_bytes().endswith(b"\x1a")
    assert len(load_ofac(folder).entities) == 8


def test_unterminated_quote_fails_with_its_line() -> None:
    """A quoted field that is not closed fails at the line where its row starts."""
    with pytest.raises(WatchlistError, match="quoted field") as caught:
        load_ofac(DATA / "unterminated-quote")
    assert caught.value.line == 2


def test_quote_open_until_end_of_file_fails(folder: Path) -> None:
    """A quote that is still open at the end of the file is an error, not a long last field."""
    append_row(folder / "sdn.csv", b'99999,"OPEN QUOTE,-0- ,-0- ')
    with pytest.raises(WatchlistError, match="quoted field") as caught:
        load_ofac(folder)
    assert caught.value.line == 9


def test_quoted_field_across_lines_fails(folder: Path) -> None:
    """A field that swallows a line break (a quote closed on a later line) is reported as unterminated."""
    row = b'99999,"SPLIT\r\nNAME",-0- ,"CUBA"' + b",-0- " * 8
    append_row(folder / "sdn.csv", row)
    with pytest.raises(WatchlistError, match="runs across lines") as caught:
        load_ofac(folder)
    assert caught.value.line == 9


def test_empty_sdn_file_fails() -> None:
    """A zero-byte sdn.csv is cut short, and as an extract an empty list: neither loads."""
    with pytest.raises(WatchlistError, match=r"does not end with the \\x1a end-of-file byte"):
        load_ofac(DATA / "empty")
    with pytest.raises(WatchlistError, match="holds no entries"):
        load_ofac(DATA / "empty", extract=True)


def test_sdn_file_with_only_eof_mark_fails(folder: Path) -> None:
    """An sdn.csv holding just the \\x1a line is empty too."""
    (folder / "sdn.csv").write_bytes(b"\x1a")
    with pytest.raises(WatchlistError, match="holds no entries"):
        load_ofac(folder)


def test_eof_mark_before_the_end_fails(folder: Path) -> None:
    """Only the last line may be the lone \\x1a; one in the middle is a damaged file."""
    sdn = folder / "sdn.csv"
    sdn.write_bytes(b"\x1a\r\n" + sdn.read_bytes())
    with pytest.raises(WatchlistError, match="1 fields, expected 12") as caught:
        load_ofac(folder)
    assert caught.value.line == 1


def test_alias_for_unknown_entity_fails() -> None:
    """An alt.csv row naming an ent_num absent from sdn.csv fails closed (files from different snapshots)."""
    with pytest.raises(WatchlistError, match=r"'6365' is not in sdn\.csv") as caught:
        load_ofac(DATA / "orphan-alias")
    assert caught.value.source == str(DATA / "orphan-alias" / "alt.csv")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("sdn_comments.csv", b"99999,\"a.k.a. 'X'.\""),
        ("add.csv", b'99999,1,-0- ,"Havana","Cuba",-0- '),
    ],
)
def test_side_file_row_for_unknown_entity_fails(folder: Path, name: str, row: bytes) -> None:
    """Comments and addresses must also belong to an sdn.csv entry."""
    path = folder / name
    if name == "sdn_comments.csv":
        path.write_bytes(path.read_bytes() + row + b"\r\n")
    else:
        append_row(path, row)
    with pytest.raises(WatchlistError, match=r"'99999' is not in sdn\.csv") as caught:
        load_ofac(folder)
    assert caught.value.source == str(path)


def test_address_row_with_wrong_columns_fails(folder: Path) -> None:
    """add.csv is read and checked even though its contents are not kept."""
    append_row(folder / "add.csv", b'306,999,"Havana"')
    with pytest.raises(WatchlistError, match="3 fields, expected 6"):
        load_ofac(folder)


def test_unknown_sdn_type_fails(folder: Path) -> None:
    """An SDN_Type outside individual/vessel/aircraft/-0- is refused with its line."""
    append_row(folder / "sdn.csv", b'99999,"X","company","CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')
    with pytest.raises(WatchlistError, match="SDN_Type 'company'") as caught:
        load_ofac(folder)
    assert caught.value.line == 9


def test_duplicate_ent_num_fails(folder: Path) -> None:
    """The same ent_num twice in sdn.csv is refused."""
    append_row(folder / "sdn.csv", b'306,"X",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')
    with pytest.raises(WatchlistError, match="306 appears twice"):
        load_ofac(folder)


def test_empty_primary_name_fails(folder: Path) -> None:
    """An entry whose SDN_Name is -0- has nothing to match and is refused."""
    append_row(folder / "sdn.csv", b'99999,-0- ,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')
    with pytest.raises(WatchlistError, match="empty SDN_Name"):
        load_ofac(folder)


def test_unknown_alias_type_fails(folder: Path) -> None:
    """alt_type must be aka, fka or nka."""
    append_row(folder / "alt.csv", b'306,99999,"xyz","BANCO",-0- ')
    with pytest.raises(WatchlistError, match="alias type 'xyz'"):
        load_ofac(folder)


def test_missing_sdn_file_fails(tmp_path: Path) -> None:
    """A folder without sdn.csv is not an OFAC folder."""
    with pytest.raises(WatchlistError, match=r"no sdn\.csv in this folder"):
        load_ofac(tmp_path)


def test_missing_alt_file_fails(folder: Path) -> None:
    """Without alt.csv more than half of the names would vanish silently, so it is required."""
    (folder / "alt.csv").unlink()
    with pytest.raises(WatchlistError, match=r"no alt\.csv"):
        load_ofac(folder)


def test_unreadable_file_fails(folder: Path) -> None:
    """A side file that cannot be read (here a folder in its place) fails with its path."""
    (folder / "add.csv").unlink()
    (folder / "add.csv").mkdir()
    with pytest.raises(WatchlistError, match=r"cannot read add\.csv") as caught:
        load_ofac(folder)
    assert caught.value.source == str(folder / "add.csv")


# --- the full bundled snapshot ----------------------------------------------------------------


def test_full_snapshot_counts(full: Watchlist) -> None:
    """The bundled 2021 snapshot loads all 8,976 entries with 23,321 names, 2,441 of them weak."""
    assert len(full.entities) == 8976
    assert full.name_count == 23321
    assert sum(n.strength is WEAK for e in full.entities for n in e.names) == 2441
    assert Counter(e.type for e in full.entities) == {
        EntityType.INDIVIDUAL: 4620,
        EntityType.ENTITY: 3673,
        EntityType.VESSEL: 406,
        EntityType.AIRCRAFT: 277,
    }
    assert len({e.id for e in full.entities}) == 8976


def test_full_snapshot_spot_checks(full: Watchlist) -> None:
    """Known entries read back as OFAC publishes them."""
    entities = by_id(full)
    assert entities["ofac-sdn:306"].names == (
        ListedName("BANCO NACIONAL DE CUBA", STRONG),
        ListedName("NATIONAL BANK OF CUBA", STRONG),
        ListedName("BNC", WEAK),
    )
    assert entities["ofac-sdn:6365"].primary_name == "BIN LADIN, Usama bin Muhammad bin Awad"
    assert "snowsjohn" in names(entities["ofac-sdn:28263"], WEAK)  # cut mid-word between the two files
    assert entities["ofac-sdn:4632"].programs == ("IRAN", "SDGT", "IRGC", "IFSR")


def test_full_snapshot_has_no_empty_or_padded_names(full: Watchlist) -> None:
    """Every name is non-empty, stripped and free of the -0- marker."""
    for entity in full.entities:
        for name in entity.names:
            assert name.text
            assert name.text == name.text.strip()
            assert name.text != "-0-"
