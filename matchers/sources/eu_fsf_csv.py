"""Reader for the EU Financial Sanctions Files (FSF) consolidated list, CSV 1.1.

The CSV export carries the XML export's content flattened: UTF-8, ``;``-separated, a header row
starting ``fileGenerationDate;Entity_LogicalId``, then one row per sub-element of a listed party (a
name alias, an address, a birth date, an identity document, a citizenship), each row repeating its
party's ``Entity_*`` columns. Rows are grouped by ``Entity_LogicalId`` into entities with id
``eu-fsf:<logicalId>``, the ids the XML reader (:mod:`matchers.sources.eu_fsf`) gives the same
parties, by the same rules (shared with it):

* ``Entity_SubjectType_ClassificationCode`` ``person`` → individual, ``enterprise`` → entity (``P``
  and ``E`` in ``Entity_SubjectType`` when the code is empty); any other is refused, and the rows of
  one party must agree.
* a row's name is ``NameAlias_WholeName``, else ``NameAlias_FirstName MiddleName LastName``; rows
  without one (addresses, birth dates…) add none. The first name is the primary name.
* programs and the effective date come from the ``Entity_Regulation_Programme`` and
  ``Entity_Regulation_EntryIntoForceDate`` columns, as from the XML's ``<regulation>`` elements.

The CSV has no column for the XML's ``strong="false"``, so every name it holds is strong: where the
EU marks weak aliases, the XML export screens them as weak (corroborating only) and the CSV cannot.
A row with another number of fields than the header is refused (a cut download).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from matchers.sources.eu_fsf import LIST_ID, add_name, alias_text, designated, subject_type
from matchers.sources.first_line import first_line_starts_with
from matchers.watchlist import EntityType, NameStrength, Watchlist
from schemas.errors import WatchlistError

#: How the header row starts: the two first column names.
HEADER_START = "fileGenerationDate;Entity_LogicalId"
LOGICAL_ID = "Entity_LogicalId"
CLASSIFICATION = "Entity_SubjectType_ClassificationCode"
SUBJECT = "Entity_SubjectType"
NAME_PARTS = ("NameAlias_WholeName", "NameAlias_FirstName", "NameAlias_MiddleName", "NameAlias_LastName")
PROGRAMME = "Entity_Regulation_Programme"
ENTRY_INTO_FORCE = "Entity_Regulation_EntryIntoForceDate"
REQUIRED = (LOGICAL_ID, CLASSIFICATION, SUBJECT, *NAME_PARTS, PROGRAMME, ENTRY_INTO_FORCE)
#: ``Entity_SubjectType`` letters, read when the classification code is empty.
SUBJECT_LETTERS = {"P": "person", "E": "enterprise"}


@dataclass
class _Party:
    """The rows of one logical id read so far."""

    line: int
    type: EntityType
    names: dict[str, NameStrength] = field(default_factory=dict)
    regulations: list[tuple[str, str]] = field(default_factory=list)


def is_eu_fsf_csv(path: Path) -> bool:
    """True when the file's first line is the EU FSF CSV header."""
    return first_line_starts_with(path, HEADER_START.encode())


def load_eu_fsf_csv(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read an EU FSF CSV export into a watchlist; ``source`` defaults to the path."""
    src = source if source is not None else str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"not UTF-8 text (byte {exc.start})", source=src) from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = next(reader, None)
        if header is None or ";".join(header[:2]) != HEADER_START:
            raise WatchlistError(f"the first row is not the EU FSF CSV header ({HEADER_START};…)", source=src)
        columns = {name.strip(): index for index, name in enumerate(header)}
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise WatchlistError(f"the header has no column {', '.join(missing)}", source=src, line=1)
        parties: dict[str, _Party] = {}
        generated = ""
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                message = f"the row has {len(row)} fields, the header {len(header)} (a cut or damaged file?)"
                raise WatchlistError(message, source=src, line=reader.line_num)
            generated = generated or row[0].strip()
            _add_row(parties, columns, row, reader.line_num, src)
    except csv.Error as exc:
        raise WatchlistError(f"not valid CSV ({exc})", source=src, line=reader.line_num) from exc
    if not parties:
        raise WatchlistError("the export holds no rows after the header", source=src)
    entities = []
    for logical_id, party in parties.items():
        where = f"logical id {logical_id} (first on line {party.line})"
        if not party.names:
            raise WatchlistError(f"{where} has no row with a name", source=src)
        entities.append(
            designated(logical_id, party.type, party.names, party.regulations, where=where, src=src)
        )
    description = "EU Financial Sanctions Files consolidated list (CSV)" + (
        f", generated {generated}" if generated else ""
    )
    return Watchlist.build(LIST_ID, src, entities, description)


def _add_row(
    parties: dict[str, _Party], columns: dict[str, int], row: list[str], line: int, src: str
) -> None:
    """Add one row to its party: its type (checked against the party's), name and regulation."""

    def cell(name: str) -> str:
        return row[columns[name]].strip()

    logical_id = cell(LOGICAL_ID)
    if not logical_id:
        raise WatchlistError("the row has no Entity_LogicalId", source=src, line=line)
    code = cell(CLASSIFICATION) or SUBJECT_LETTERS.get(cell(SUBJECT), cell(SUBJECT))
    entity_type = subject_type(code, f"logical id {logical_id}", src)
    party = parties.get(logical_id)
    if party is None:
        party = parties[logical_id] = _Party(line, entity_type)
    elif party.type is not entity_type:
        message = (
            f"logical id {logical_id} is {party.type.value} on line {party.line} but {entity_type.value} here"
        )
        raise WatchlistError(message, source=src, line=line)
    name = alias_text(*(cell(part) for part in NAME_PARTS))
    if name:
        add_name(party.names, name, NameStrength.STRONG)
    regulation = (cell(PROGRAMME), cell(ENTRY_INTO_FORCE))
    if any(regulation) and regulation not in party.regulations:
        party.regulations.append(regulation)
