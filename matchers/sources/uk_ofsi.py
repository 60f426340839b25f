"""Reader for the UK HM Treasury OFSI Consolidated List: the CSV (2020 layout) and the XLSX (2022 layout).

Both have ``Last Updated`` and its date in row 1 and the column names in row 2; every later row
is one name variant of a listed party, and the rows of one party share a ``Group ID``. Columns are
found by name, so the 29-column CSV and the 36-column XLSX share one reader:

* ``Name 6`` is the surname (an entity's whole name), ``Name 1`` … ``Name 5`` the given names; a
  row's name is ``Name 1 … Name 5 Name 6`` joined with spaces, empty parts skipped.
* ``Alias Type`` ``Prime Alias`` (2020) or ``Primary name`` (2022) marks the primary name, which
  comes first; other rows (``AKA``, ``FKA``, ``Primary name variation``) are aliases.
* ``Alias Quality`` (XLSX only) ``Low quality`` makes the row's name weak, like the UN's Low
  aliases; everything else is strong. ``Name Non-Latin Script`` (XLSX only) is a strong name.
* ``Group Type`` ``Individual`` / ``Entity`` / ``Ship`` → individual / entity / vessel; rows of
  one group must agree. ``Regime`` values are the programs.

Entity ids are ``uk-ofsi:<Group ID>``. No effective dates are set (``Listed On`` is metadata of
the designation; a snapshot applies as a whole while it is loaded, as for the UN list). The CSV
is cp1252; a row with another number of fields than the header is refused (a cut download).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from matchers.sources.first_line import first_line_starts_with
from matchers.sources.xlsx import read_rows
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

LIST_ID = "uk-ofsi"
ENCODING = "cp1252"
NAME_COLUMNS = ("Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6")
REQUIRED = (*NAME_COLUMNS, "Group Type", "Alias Type", "Regime", "Group ID")
GROUP_TYPES = {"individual": EntityType.INDIVIDUAL, "entity": EntityType.ENTITY, "ship": EntityType.VESSEL}
PRIMARY_ALIAS_TYPES = frozenset({"prime alias", "primary name"})
WEAK_QUALITY = "low"


@dataclass
class _Group:
    """The rows of one Group ID read so far."""

    line: int
    type: EntityType
    primary: dict[str, NameStrength] = field(default_factory=dict)
    names: dict[str, NameStrength] = field(default_factory=dict)
    programs: list[str] = field(default_factory=list)


def load_uk_ofsi(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read an OFSI Consolidated List ``.csv`` or ``.xlsx`` file; ``source`` defaults to the path."""
    file = Path(path)
    src = source if source is not None else str(path)
    if file.suffix.lower() == ".xlsx":
        return _load(read_rows(file, src), src)
    try:
        text = file.read_bytes().decode(ENCODING)
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"not {ENCODING} text (byte {exc.start})", source=src) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise WatchlistError(f"not valid CSV ({exc})", source=src, line=reader.line_num) from exc
    return _load(rows, src)


def is_ofsi_csv(path: Path) -> bool:
    """True when the file's first line is OFSI's ``Last Updated,…`` line."""
    return first_line_starts_with(path, b"Last Updated")


def _load(rows: Iterable[tuple[int, list[str]]], src: str) -> Watchlist:
    """Group the rows after the two header rows into entities."""
    iterator = iter(rows)
    first = next(iterator, None)
    header = next(iterator, None)
    if first is None or not first[1] or first[1][0].strip() != "Last Updated" or header is None:
        raise WatchlistError("row 1 is not 'Last Updated,<date>' of an OFSI Consolidated List", source=src)
    columns = {name.strip(): i for i, name in enumerate(header[1]) if name.strip()}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise WatchlistError(
            f"the header (row 2) lacks the column(s) {', '.join(missing)}", source=src, line=2
        )
    groups: dict[str, _Group] = {}
    for line, row in iterator:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header[1]) and not src.lower().endswith(".xlsx"):
            message = f"the row has {len(row)} fields, the header {len(header[1])}; the file may be cut short"
            raise WatchlistError(message, source=src, line=line)
        _add_row(groups, columns, row, line, src)
    if not groups:
        raise WatchlistError("the list holds no rows after the header", source=src)
    entities = [_entity(group_id, group, src) for group_id, group in groups.items()]
    updated = first[1][1].strip() if len(first[1]) > 1 else ""
    description = "UK OFSI Consolidated List" + (f", last updated {updated}" if updated else "")
    return Watchlist.build(LIST_ID, src, entities, description)


def _add_row(groups: dict[str, _Group], columns: dict[str, int], row: list[str], line: int, src: str) -> None:
    """Add one name row to its group."""

    def cell(name: str) -> str:
        index = columns.get(name)
        return " ".join(row[index].split()) if index is not None and index < len(row) else ""

    group_id = cell("Group ID")
    if not group_id:
        raise WatchlistError("the row has no Group ID", source=src, line=line)
    group_type = GROUP_TYPES.get(cell("Group Type").lower())
    if group_type is None:
        message = f"group {group_id}: Group Type {cell('Group Type')!r} is not Individual, Entity or Ship"
        raise WatchlistError(message, source=src, line=line)
    group = groups.setdefault(group_id, _Group(line, group_type))
    if group.type is not group_type:
        earlier = f"{group.type.value} on line {group.line}"
        message = f"group {group_id}: Group Type {group_type.value} here but {earlier}"
        raise WatchlistError(message, source=src, line=line)
    weak = cell("Alias Quality").lower().startswith(WEAK_QUALITY)
    strength = NameStrength.WEAK if weak else NameStrength.STRONG
    names = group.primary if cell("Alias Type").lower() in PRIMARY_ALIAS_TYPES else group.names
    for text in (" ".join(p for p in (cell(c) for c in NAME_COLUMNS) if p), cell("Name Non-Latin Script")):
        if text and names.setdefault(text, strength) is NameStrength.WEAK and not weak:
            names[text] = NameStrength.STRONG
    regime = cell("Regime")
    if regime and regime not in group.programs:
        group.programs.append(regime)


def _entity(group_id: str, group: _Group, src: str) -> Entity:
    """A group's names, primary first; a name given strong anywhere is strong."""
    names: dict[str, NameStrength] = {}
    for text, strength in (*group.primary.items(), *group.names.items()):
        if names.setdefault(text, strength) is NameStrength.WEAK and strength is NameStrength.STRONG:
            names[text] = NameStrength.STRONG
    if not names:
        raise WatchlistError(f"group {group_id} has no name in any row", source=src, line=group.line)
    return Entity(
        id=f"{LIST_ID}:{group_id}",
        list_id=LIST_ID,
        type=group.type,
        names=tuple(ListedName(t, s) for t, s in names.items()),
        programs=tuple(group.programs),
    )
