"""A minimal reader for the first sheet of an Office Open XML workbook (``.xlsx``), stdlib only.

Only what list files need: cell text by column, row by row, from shared strings, inline strings
and plain values (numbers are kept as their written text; formulas, styles and dates-as-numbers
are not interpreted). Chosen over openpyxl because it streams the sheet with ``iterparse`` in a
few dozen lines, adds no runtime dependency to the pure ``matchers`` package, and lets every
failure be a :class:`~schemas.errors.WatchlistError` naming the file and row. Parts larger than
:data:`MAX_PART_BYTES` uncompressed are refused (a zip bomb must not exhaust memory).
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from schemas.errors import WatchlistError

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAX_PART_BYTES = 512 * 1024 * 1024
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def read_rows(path: Path, src: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, cell texts)`` of the workbook's first sheet; missing cells are ``""``."""
    try:
        with zipfile.ZipFile(path) as archive:
            strings = _shared_strings(archive, src)
            sheet = _first_sheet(archive, src)
            with _open(archive, sheet, src) as handle:
                yield from _rows(handle, strings, src)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise WatchlistError(
            f"not a readable .xlsx workbook ({exc}); the file may be cut short", source=src
        ) from exc
    except ET.ParseError as exc:
        raise WatchlistError(f"the workbook's XML is not well-formed ({exc})", source=src) from exc
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc


def _open(archive: zipfile.ZipFile, name: str, src: str) -> IO[bytes]:
    """Open one part, refusing a missing or oversized one."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise WatchlistError(f"the workbook has no part {name!r}", source=src) from None
    if info.file_size > MAX_PART_BYTES:
        raise WatchlistError(f"workbook part {name!r} is larger than {MAX_PART_BYTES:,} bytes", source=src)
    return archive.open(info)


def _first_sheet(archive: zipfile.ZipFile, src: str) -> str:
    """The part name of the first ``<sheet>`` in ``xl/workbook.xml``, through its relationship."""
    with _open(archive, "xl/workbook.xml", src) as handle:
        workbook = ET.parse(handle).getroot()  # noqa: S314 - no external entities, bounded expansion
    sheet = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    if sheet is None:
        raise WatchlistError("the workbook has no sheet", source=src)
    rel_id = sheet.get(f"{REL}id")
    with _open(archive, "xl/_rels/workbook.xml.rels", src) as handle:
        rels = ET.parse(handle).getroot()  # noqa: S314 - as above
    for rel in rels.iter(f"{PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    raise WatchlistError(f"the workbook's first sheet ({rel_id}) has no relationship", source=src)


def _shared_strings(archive: zipfile.ZipFile, src: str) -> list[str]:
    """The shared-string table (rich-text runs concatenated); empty when the workbook has none."""
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings: list[str] = []
    with _open(archive, "xl/sharedStrings.xml", src) as handle:
        for _, element in ET.iterparse(handle):  # noqa: S314 - as above
            if element.tag == f"{MAIN}si":
                strings.append("".join(t.text or "" for t in element.iter(f"{MAIN}t")))
                element.clear()
    return strings


def _rows(handle: IO[bytes], strings: list[str], src: str) -> Iterator[tuple[int, list[str]]]:
    """Stream ``<row>`` elements as lists of cell texts placed by their column letters."""
    for _, element in ET.iterparse(handle):  # noqa: S314 - as above
        if element.tag != f"{MAIN}row":
            continue
        number = int(element.get("r", "0"))
        cells: dict[int, str] = {}
        for cell in element.iter(f"{MAIN}c"):
            match = _CELL_REF.fullmatch(cell.get("r", ""))
            if match is None:
                raise WatchlistError(f"row {number}: a cell has no reference like A1", source=src)
            cells[_column(match.group(1))] = _cell_text(cell, strings, number, src)
        element.clear()
        width = max(cells, default=-1) + 1
        yield number, [cells.get(i, "") for i in range(width)]


def _cell_text(cell: ET.Element, strings: list[str], row: int, src: str) -> str:
    """A cell's text: a shared string, an inline string or its value as written."""
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
    value = cell.findtext(f"{MAIN}v") or ""
    if kind != "s":
        return value
    try:
        return strings[int(value)]
    except (ValueError, IndexError):
        raise WatchlistError(f"row {row}: cell {cell.get('r')} names no shared string", source=src) from None


def _column(letters: str) -> int:
    """``A`` → 0, ``Z`` → 25, ``AA`` → 26."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1
