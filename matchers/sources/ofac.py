"""Reader for the OFAC SDN list in its legacy CSV set: a folder with ``sdn.csv`` and ``alt.csv``.

The files are Latin-1, have no header line, write ``-0-`` (often ``-0- ``) for an empty field
and end with a lone ``\\x1a`` (DOS end-of-file) line, which is the only line ignored. OFAC writes
it at the end of ``sdn.csv``, ``alt.csv`` and ``add.csv`` (not ``sdn_comments.csv``), so one of
those three without it is refused: it was cut short, even if cleanly at a line boundary. A
hand-made extract is loaded with ``extract=True``, which waives that check only.

* ``sdn.csv`` — ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage,
  GRT, Vess_flag, Vess_owner, Remarks. SDN_Name is the primary, strong name; SDN_Type is
  ``individual``, ``vessel``, ``aircraft`` or ``-0-`` (an entity); Program holds one or more
  programs written ``SDGT] [IRGC``.
* ``alt.csv`` — ent_num, alt_num, alt_type (aka, fka, nka), alt_name, alt_remarks. Every
  alias is strong. Required: OFAC always ships it, and a set without it would silently lose
  more than half of the names (one holding only the end-of-file line is accepted).
* ``sdn_comments.csv`` (optional) — ent_num, text: the end of a Remarks field that did not
  fit in ``sdn.csv``; it is appended to the Remarks without a separator (OFAC cuts mid-word).
* ``add.csv`` (optional) — ent_num, add_num, address, city/state/postal, country, remarks.
  Validated only: the :class:`~matchers.watchlist.Entity` model has no field for it.

Remarks items written ``a.k.a. 'X'`` (also ``f.k.a.``, ``n.k.a.``) are OFAC's *weak* aliases.
Names are kept exactly as written, apart from stripping surrounding whitespace.

A row in ``alt.csv``, ``sdn_comments.csv`` or ``add.csv`` naming an ent_num that ``sdn.csv``
does not hold is an error, not a warning: the four files are cut from one database snapshot,
so an orphan means they come from different snapshots or ``sdn.csv`` lost rows, and a
screener must not start on a list it cannot show is complete (fail closed).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

LIST_ID = "ofac-sdn"
DESCRIPTION = "US Treasury OFAC Specially Designated Nationals (SDN) list, legacy CSV set"

EMPTY = "-0-"
EOF_MARK = "\x1a"
#: The prefix of a ``SRC`` naming a hand-made OFAC extract: ``extract:path/to/folder``.
EXTRACT_PREFIX = "extract:"

SDN_COLUMNS = 12
ALT_COLUMNS = 5
COMMENT_COLUMNS = 2
ADD_COLUMNS = 6

SDN_TYPES = {
    "": EntityType.ENTITY,
    "individual": EntityType.INDIVIDUAL,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
ALT_TYPES = frozenset({"aka", "fka", "nka"})

# One Remarks item ``a.k.a. 'NAME'``: items are separated by ``;`` and the last ends with ``.``.
# Names contain apostrophes (``ABU 'ABD AL-'AZIZ``, ``SUE RC 'KMP'``), so the closing quote is
# the first one followed by the end of the item, not the first quote.
_REMARK_AKA = re.compile(r"(?:^|;)\s*[afn]\.k\.a\.\s*'(.*?)'(?=\s*;|\s*\.?\s*$)")

Row = tuple[int, list[str]]


def load_ofac(folder: str | Path, *, source: str | None = None, extract: bool = False) -> Watchlist:
    """Read an OFAC SDN legacy CSV folder into a watchlist; ``source`` defaults to the folder path.

    ``extract`` accepts files without OFAC's end-of-file byte (a hand-made extract).
    """
    root = Path(folder)
    src = source if source is not None else str(folder)
    sdn_path = root / "sdn.csv"
    if not sdn_path.is_file():
        raise WatchlistError("no sdn.csv in this folder, expected an OFAC SDN legacy CSV set", source=src)
    alt_path = root / "alt.csv"
    if not alt_path.is_file():
        raise WatchlistError("no alt.csv beside sdn.csv; the OFAC aliases are required", source=src)

    marked = not extract
    sdn_rows = _read_rows(sdn_path, SDN_COLUMNS, marked=marked)
    if not sdn_rows:
        raise WatchlistError("sdn.csv holds no entries", source=str(sdn_path))
    known = _entity_numbers(sdn_path, sdn_rows)

    aliases: dict[str, list[str]] = {}
    for line, row in _read_rows(alt_path, ALT_COLUMNS, marked=marked):
        ent_num = _known_number(row[0], known, alt_path, line)
        alt_type, alt_name = _value(row[2]).lower(), _value(row[3])
        if alt_type not in ALT_TYPES:
            message = f"alias type {row[2].strip()!r} is not aka, fka or nka"
            raise WatchlistError(message, source=str(alt_path), line=line)
        if not alt_name:
            message = f"alias of ent_num {ent_num} has an empty name"
            raise WatchlistError(message, source=str(alt_path), line=line)
        aliases.setdefault(ent_num, []).append(alt_name)

    continued: dict[str, str] = {}
    comments_path = root / "sdn_comments.csv"
    if comments_path.exists():
        for line, row in _read_rows(comments_path, COMMENT_COLUMNS, marked=False):
            ent_num = _known_number(row[0], known, comments_path, line)
            continued[ent_num] = continued.get(ent_num, "") + row[1]

    add_path = root / "add.csv"
    if add_path.exists():
        for line, row in _read_rows(add_path, ADD_COLUMNS, marked=marked):
            _known_number(row[0], known, add_path, line)

    entities = [
        _entity(line, row, aliases.get(row[0].strip(), ()), continued.get(row[0].strip(), ""), sdn_path)
        for line, row in sdn_rows
    ]
    return Watchlist.build(LIST_ID, src, entities, DESCRIPTION)


def remark_aliases(remarks: str) -> list[str]:
    """The names a Remarks field gives as ``a.k.a. 'X'`` / ``f.k.a.`` / ``n.k.a.`` (OFAC's weak aliases)."""
    return [m.group(1).strip() for m in _REMARK_AKA.finditer(remarks) if m.group(1).strip()]


def split_programs(field: str) -> tuple[str, ...]:
    """The programs of a Program field: ``SDGT] [IRGC`` gives ``("SDGT", "IRGC")``."""
    parts = (p.strip(" []") for p in _value(field).split("] ["))
    return tuple(p for p in parts if p)


def _entity(line: int, row: list[str], alt_names: Iterable[str], continued: str, path: Path) -> Entity:
    """One sdn.csv row, its strong aliases and the continuation of its Remarks as an entity."""
    ent_num = row[0].strip()
    primary = _value(row[1])
    if not primary:
        raise WatchlistError(f"ent_num {ent_num} has an empty SDN_Name", source=str(path), line=line)
    sdn_type = _value(row[2]).lower()
    if sdn_type not in SDN_TYPES:
        expected = "expected individual, vessel, aircraft or -0-"
        message = f"ent_num {ent_num} has SDN_Type {row[2].strip()!r}, {expected}"
        raise WatchlistError(message, source=str(path), line=line)
    remarks = ("" if _value(row[11]) == "" else row[11]) + continued
    names: dict[str, NameStrength] = {primary: NameStrength.STRONG}
    for alt in alt_names:
        names.setdefault(alt, NameStrength.STRONG)
    for weak in remark_aliases(remarks.strip()):
        names.setdefault(weak, NameStrength.WEAK)
    return Entity(
        id=f"{LIST_ID}:{ent_num}",
        list_id=LIST_ID,
        type=SDN_TYPES[sdn_type],
        names=tuple(ListedName(text, strength) for text, strength in names.items()),
        programs=split_programs(row[3]),
    )


def _entity_numbers(path: Path, rows: list[Row]) -> set[str]:
    """The ent_nums of sdn.csv, checked to be numbers and unique."""
    seen: set[str] = set()
    for line, row in rows:
        ent_num = row[0].strip()
        if not ent_num.isdigit():
            raise WatchlistError(f"ent_num {ent_num!r} is not a number", source=str(path), line=line)
        if ent_num in seen:
            raise WatchlistError(f"ent_num {ent_num} appears twice", source=str(path), line=line)
        seen.add(ent_num)
    return seen


def _known_number(field: str, known: set[str], path: Path, line: int) -> str:
    """The ent_num of a side-file row, which must name an entry of sdn.csv."""
    ent_num = field.strip()
    if ent_num not in known:
        raise WatchlistError(
            f"ent_num {ent_num!r} is not in sdn.csv (the files come from different snapshots)",
            source=str(path),
            line=line,
        )
    return ent_num


def _value(field: str) -> str:
    """A field without surrounding whitespace, and empty for the ``-0-`` marker."""
    text = field.strip()
    return "" if text == EMPTY else text


def _read_rows(path: Path, columns: int, *, marked: bool) -> list[Row]:
    """Every row of a legacy CSV file with its 1-based first line, each checked to have ``columns`` fields.

    ``marked``: the file must end with the lone end-of-file line, else it was cut short.
    """
    try:
        with path.open(encoding="latin-1", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise WatchlistError(f"cannot read {path.name} ({exc.strerror or exc})", source=str(path)) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            message = f"a quoted field is never closed or is followed by stray text ({exc})"
            raise WatchlistError(message, source=str(path), line=start) from exc
        rows.append((start, row))
        start = reader.line_num + 1
    ended = bool(rows) and rows[-1][1] == [EOF_MARK]
    if ended:
        rows.pop()
    for line, row in rows:
        if any("\n" in f or "\r" in f for f in row):
            raise WatchlistError(
                "a quoted field runs across lines (an unterminated quote)", source=str(path), line=line
            )
        if len(row) != columns:
            raise WatchlistError(
                f"row has {len(row)} fields, expected {columns} (a truncated or malformed row)",
                source=str(path),
                line=line,
            )
    if marked and not ended:
        message = (
            f"{path.name} does not end with the \\x1a end-of-file byte OFAC writes, so it may be cut short "
            f"(for a hand-made extract, give the source as {EXTRACT_PREFIX}FOLDER)"
        )
        raise WatchlistError(message, source=str(path))
    return rows
