"""The UK OFSI Consolidated List reader: a real 2020 CSV excerpt, the whole real 2025 XLSX, broken files."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest

from matchers.sources import load_source
from matchers.sources.uk_ofsi import LIST_ID, load_uk_ofsi
from matchers.watchlist import Entity, EntityType, NameStrength, Watchlist
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "uk_ofsi"
CSV = DATA / "ConList-2020-excerpt.csv"
XLSX = DATA / "ConList-2025.xlsx"
STRONG, WEAK = NameStrength.STRONG, NameStrength.WEAK


def by_id(watchlist: Watchlist) -> dict[str, Entity]:
    return {e.id: e for e in watchlist.entities}


def names(entity: Entity) -> dict[str, NameStrength]:
    return {n.text: n.strength for n in entity.names}


@pytest.fixture(scope="module")
def xlsx() -> Watchlist:
    return load_uk_ofsi(XLSX)


def test_csv_rows_group_by_group_id() -> None:
    """Rows scattered through the CSV join their Group ID (id uk-ofsi:<Group ID>), typed by Group Type."""
    wl = load_uk_ofsi(CSV)
    entities = by_id(wl)
    assert wl.list_id == LIST_ID == "uk-ofsi"
    assert set(entities) == {"uk-ofsi:13349", "uk-ofsi:13188", "uk-ofsi:13222", "uk-ofsi:11044"}
    assert entities["uk-ofsi:13349"].type is EntityType.INDIVIDUAL
    assert entities["uk-ofsi:13188"].type is EntityType.ENTITY
    assert wl.description == "UK OFSI Consolidated List, last updated 27/04/2020"


def test_csv_prime_alias_first_and_given_names_before_surname() -> None:
    """The Prime Alias row is the primary name; a name is Name 1..5 then Name 6; duplicate rows collapse."""
    person = by_id(load_uk_ofsi(CSV))["uk-ofsi:13349"]
    assert person.primary_name == "Nayef Salam Muhammad Ujaym AL-HABABI"
    assert "Sheikh Farooq AL-QAHTANI" in names(person)
    assert len(person.names) == len(set(names(person)))
    assert set(names(person).values()) == {STRONG}  # the 2020 layout has no Alias Quality
    assert person.programs == ("The ISIL (Da'esh) and Al-Qaida organisations",)
    entity = by_id(load_uk_ofsi(CSV))["uk-ofsi:11044"]
    assert entity.primary_name == "AL-QAIDA IN THE ARABIAN PENINSULA (AQAP)"
    assert "AL-QAIDA IN YEMEN (AQY)" in names(entity)  # FKA rows are strong names


def test_xlsx_whole_list_counts(xlsx: Watchlist) -> None:
    """The whole 2025 workbook loads its 4,688 groups: 3,663 individuals, 1,010 entities and 15 ships."""
    assert len(xlsx.entities) == 4688
    assert Counter(e.type for e in xlsx.entities) == {
        EntityType.INDIVIDUAL: 3663,
        EntityType.ENTITY: 1010,
        EntityType.VESSEL: 15,
    }
    assert xlsx.description.endswith("last updated 14/04/2025")


def test_xlsx_low_quality_alias_is_weak(xlsx: Watchlist) -> None:
    """Alias Quality 'Low quality' makes the row's name weak; other names of the group stay strong."""
    kony = by_id(xlsx)["uk-ofsi:13378"]
    assert names(kony)["CAESAR"] is WEAK
    assert names(kony)["Ali Mohammed KONY"] is STRONG


def test_xlsx_ship_and_non_latin_name(xlsx: Watchlist) -> None:
    """Group Type Ship is a vessel; Name Non-Latin Script is a strong name of the group."""
    assert by_id(xlsx)["uk-ofsi:13651"].type is EntityType.VESSEL
    assert names(by_id(xlsx)["uk-ofsi:15890"])["ЗАДАЧИН Андрей Андреевич"] is STRONG


@pytest.mark.parametrize("name", ["list.csv", "LIST.XLSX"])
def test_dispatch(tmp_path: Path, name: str) -> None:
    """load_source reads a .csv starting 'Last Updated' and any .xlsx file with this reader."""
    path = tmp_path / name
    path.write_bytes((XLSX if name.lower().endswith(".xlsx") else CSV).read_bytes())
    assert load_source(str(path)).list_id == "uk-ofsi"


def _csv(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "broken.csv"
    path.write_bytes(body)
    return path


def test_csv_cut_mid_row_names_the_line(tmp_path: Path) -> None:
    """A CSV cut inside a row is refused with the line of the short row."""
    body = CSV.read_bytes()
    cut = body[: body.index(b"\r\n", 4000) - 40]
    with pytest.raises(WatchlistError, match=r"broken\.csv:\d+: the row has \d+ fields, the header 29"):
        load_uk_ofsi(_csv(tmp_path, cut))


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (b",Individual,", b",Person,", r"broken\.csv:3: group 13349: Group Type 'Person'"),
        (b",13188\r\n", b",\r\n", r"broken\.csv:\d+: the row has no Group ID"),
        (b"Group Type,", b"Kind,", r"broken\.csv:2: the header \(row 2\) lacks the column\(s\) Group Type"),
        (b"Last Updated", b"Updated", r"broken\.csv: row 1 is not 'Last Updated"),
    ],
)
def test_csv_defects_are_named(tmp_path: Path, old: bytes, new: bytes, pattern: str) -> None:
    """Each defect is a WatchlistError naming the file, the line and the group."""
    with pytest.raises(WatchlistError, match=pattern):
        load_uk_ofsi(_csv(tmp_path, CSV.read_bytes().replace(old, new, 1)))


def test_group_type_conflict(tmp_path: Path) -> None:
    """Rows of one group that disagree on its type are refused, naming both lines."""
    lines = CSV.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b",Individual,", b",Entity,")
    with pytest.raises(
        WatchlistError, match=r"broken\.csv:4: group 13349: Group Type entity here but individual"
    ):
        load_uk_ofsi(_csv(tmp_path, b"\r\n".join(lines)))


def test_truncated_xlsx_is_refused(tmp_path: Path) -> None:
    """A workbook cut short is not a readable zip: refused with the file named."""
    path = tmp_path / "cut.xlsx"
    path.write_bytes(XLSX.read_bytes()[:100_000])
    with pytest.raises(WatchlistError, match=r"cut\.xlsx: not a readable \.xlsx workbook"):
        load_uk_ofsi(path)


HEADER = ["Name 6", "Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name Non-Latin Script", "Group Type"]
HEADER += ["Alias Type", "Alias Quality", "Regime", "Group ID"]


def _column(index: int) -> str:
    return chr(ord("A") + index)


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """A minimal workbook of inline-string cells, written as the OOXML parts the reader needs."""
    sheet_rows = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{_column(i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
            for i, value in enumerate(row)
            if value
        )
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="worksheet"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}"><sheetData>{"".join(sheet_rows)}</sheetData></worksheet>',
        )
    return path


def test_inline_strings_and_sparse_cells(tmp_path: Path) -> None:
    """A workbook of inline strings with empty cells left out reads like the shared-string one."""
    rows = [
        ["Last Updated", "01/02/2026"],
        HEADER,
        ["MADEUP", "Ivan", "", "", "", "", "", "Individual", "Primary name", "", "Made up", "9001"],
        ["MADEUPOV", "Vanya", "", "", "", "", "", "Individual", "AKA", "Low quality", "Made up", "9001"],
        ["", "", "", "", "", "", "ИВАН", "Individual", "AKA", "", "Made up", "9001"],
    ]
    wl = load_uk_ofsi(write_xlsx(tmp_path / "made-up.xlsx", rows))
    (entity,) = wl.entities
    assert entity.id == "uk-ofsi:9001"
    assert names(entity) == {"Ivan MADEUP": STRONG, "Vanya MADEUPOV": WEAK, "ИВАН": STRONG}
    assert wl.description.endswith("last updated 01/02/2026")


def test_xlsx_defect_names_the_row(tmp_path: Path) -> None:
    """A bad row in a workbook is named by file and row number."""
    rows = [
        ["Last Updated", "01/02/2026"],
        HEADER,
        ["MADEUP", "Ivan", "", "", "", "", "", "Individual", "Primary name", "", "Made up", "9001"],
        ["MADEUP", "Ivan", "", "", "", "", "", "Robot", "Primary name", "", "Made up", "9002"],
    ]
    with pytest.raises(WatchlistError, match=r"bad\.xlsx:4: group 9002: Group Type 'Robot'"):
        load_uk_ofsi(write_xlsx(tmp_path / "bad.xlsx", rows))


def test_xlsx_without_its_sheet_is_refused(tmp_path: Path) -> None:
    """A workbook whose first sheet part is missing is refused, naming the part."""
    path = tmp_path / "nosheet.xlsx"
    write_xlsx(path, [["Last Updated", "01/02/2026"]])
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "broken.xlsx", "w") as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item, src.read(item))
    with pytest.raises(
        WatchlistError, match=r"broken\.xlsx: the workbook has no part 'xl/worksheets/sheet1\.xml'"
    ):
        load_uk_ofsi(tmp_path / "broken.xlsx")


def test_other_csv_is_not_taken_for_ofsi(tmp_path: Path) -> None:
    """A .csv that does not start with OFSI's 'Last Updated' line is not a known list file."""
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(WatchlistError, match="not a known watchlist file type"):
        load_source(str(path))
