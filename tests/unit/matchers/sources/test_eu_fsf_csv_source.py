"""The EU FSF CSV 1.1 reader: the real 4-person excerpt, the XML's parties, made-up rows, broken files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from matchers.sources import load_source
from matchers.sources.eu_fsf import load_eu_fsf
from matchers.sources.eu_fsf_csv import is_eu_fsf_csv, load_eu_fsf_csv
from matchers.watchlist import EntityType, NameStrength
from schemas.errors import WatchlistError

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "eu_fsf"
REAL = DATA / "export-2024-excerpt.csv"
XML = DATA / "export-2020-excerpt.xml"


def _rows() -> tuple[list[str], list[list[str]]]:
    """The real excerpt's header and rows."""
    header, *rows = list(csv.reader(io.StringIO(REAL.read_text(encoding="utf-8")), delimiter=";"))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _made_up_row(header: list[str], **cells: str) -> list[str]:
    """A row of the excerpt's shape with the given columns set (others empty)."""
    return [cells.get(column, "") for column in header]


def test_real_excerpt_groups_rows_into_four_persons() -> None:
    """The 18 rows of four logical ids become four individuals, in file order, with their names."""
    wl = load_eu_fsf_csv(REAL)
    assert wl.list_id == "eu-fsf"
    assert [e.id for e in wl.entities] == ["eu-fsf:13", "eu-fsf:20", "eu-fsf:23", "eu-fsf:25"]
    assert {e.type for e in wl.entities} == {EntityType.INDIVIDUAL}
    saddam = wl.entities[0]
    assert [n.text for n in saddam.names] == ["Saddam Hussein Al-Tikriti", "Abu Ali", "Abou Ali"]
    assert {n.strength for e in wl.entities for n in e.names} == {NameStrength.STRONG}
    assert saddam.programs == ("IRQ",)
    assert saddam.effective_from == datetime(2003, 7, 7, tzinfo=UTC)
    assert "02/10/2024" in wl.description


def test_the_csv_and_the_xml_give_the_same_parties_the_same_ids() -> None:
    """A party in both exports has one id, type, program and start, and each name of the 2024 CSV is one
    of the 2020 XML's (the excerpt holds four of the rows of logical id 25's seven spellings)."""
    from_csv = {e.id: e for e in load_eu_fsf_csv(REAL).entities}
    from_xml = {e.id: e for e in load_eu_fsf(XML).entities}
    shared = from_csv.keys() & from_xml.keys()
    assert shared == {"eu-fsf:13", "eu-fsf:20", "eu-fsf:23", "eu-fsf:25"}
    for entity_id in shared:
        a, b = from_csv[entity_id], from_xml[entity_id]
        assert (a.type, a.programs, a.effective_from) == (b.type, b.programs, b.effective_from)
        assert {n.text for n in a.names} <= {n.text for n in b.names}


def test_load_source_picks_the_csv_reader_by_its_header(tmp_path: Path) -> None:
    """A .csv starting with the EU header is read as the EU list; another .csv is no known type."""
    assert is_eu_fsf_csv(REAL)
    assert load_source(str(REAL)).list_id == "eu-fsf"
    other = tmp_path / "other.csv"
    other.write_text("name;country\nAcme;DE\n", encoding="utf-8")
    assert not is_eu_fsf_csv(other)
    with pytest.raises(WatchlistError, match="not a known watchlist file type"):
        load_source(str(other))


def test_an_enterprise_with_name_parts_and_two_regulations(tmp_path: Path) -> None:
    """Code enterprise (or letter E) is an entity; empty whole names are built from the parts; the
    earliest regulation is the start and both programmes are kept."""
    header, _ = _rows()
    rows = [
        _made_up_row(
            header,
            fileGenerationDate="02/10/2024",
            Entity_LogicalId="900001",
            Entity_SubjectType="E",
            Entity_SubjectType_ClassificationCode="enterprise",
            Entity_Regulation_Programme="RUS",
            Entity_Regulation_EntryIntoForceDate="2022-02-25",
            NameAlias_WholeName="Joint Stock Company Madeup Shipyard",
        ),
        _made_up_row(
            header,
            Entity_LogicalId="900001",
            Entity_SubjectType="E",
            Entity_Regulation_Programme="UKR",
            Entity_Regulation_EntryIntoForceDate="2023-06-24",
            NameAlias_FirstName="Madeup",
            NameAlias_LastName="Verf",
        ),
        _made_up_row(header, Entity_LogicalId="900001", Entity_SubjectType="E", Address_City="Nowhere"),
    ]
    (shipyard,) = load_eu_fsf_csv(_write(tmp_path / "made-up.csv", header, rows)).entities
    assert shipyard.type is EntityType.ENTITY
    assert [n.text for n in shipyard.names] == ["Joint Stock Company Madeup Shipyard", "Madeup Verf"]
    assert shipyard.programs == ("RUS", "UKR")
    assert shipyard.effective_from == datetime(2022, 2, 25, tzinfo=UTC)


def _broken(tmp_path: Path, edit: str) -> Path:
    """The real excerpt with one kind of damage."""
    header, rows = _rows()
    if edit == "cut":
        text = REAL.read_text(encoding="utf-8")
        path = tmp_path / "cut.csv"
        path.write_text(text[: len(text) - 200], encoding="utf-8")
        return path
    if edit == "mixed":
        rows[1][header.index("Entity_SubjectType_ClassificationCode")] = "enterprise"
    elif edit == "unknown":
        for row in rows:
            row[header.index("Entity_SubjectType_ClassificationCode")] = "vessel"
    elif edit == "nameless":
        for row in rows:
            if row[header.index("Entity_LogicalId")] == "25":
                for part in ("WholeName", "FirstName", "MiddleName", "LastName"):
                    row[header.index(f"NameAlias_{part}")] = ""
    elif edit == "header":
        header = ["Entity_LogicalId", *header[1:]]
    elif edit == "column":
        drop = header.index("NameAlias_WholeName")
        header = header[:drop] + header[drop + 1 :]
        rows = [row[:drop] + row[drop + 1 :] for row in rows]
    elif edit == "date":
        rows[0][header.index("Entity_Regulation_EntryIntoForceDate")] = "07/07/2003x"
    elif edit == "empty":
        rows = []
    return _write(tmp_path / f"{edit}.csv", header, rows)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("cut", r":19: the row has \d+ fields, the header 118 \(a cut or damaged file\?\)"),
        ("mixed", r":3: logical id 13 is individual on line 2 but entity here"),
        ("unknown", r"subjectType 'vessel' is not person or enterprise"),
        ("nameless", r"logical id 25 \(first on line \d+\) has no row with a name"),
        ("header", r"not the EU FSF CSV header"),
        ("column", r"no column NameAlias_WholeName"),
        ("date", r"entryIntoForceDate '07/07/2003x' is not a date"),
        ("empty", r"no rows after the header"),
    ],
)
def test_broken_files_stop_the_load_with_a_reason(tmp_path: Path, edit: str, message: str) -> None:
    """A cut row, a wrong header or column, mixed or unknown types, a party without a name, a bad date
    or no rows: one error naming the file (and line), never a smaller list."""
    path = _broken(tmp_path, edit)
    with pytest.raises(WatchlistError, match=message) as caught:
        load_eu_fsf_csv(path)
    assert str(path) in str(caught.value)
