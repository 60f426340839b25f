"""Reader for the UN Security Council Consolidated List (XML, root ``CONSOLIDATED_LIST``).

Entries are ``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``; each becomes an entity with id
``un:<REFERENCE_NUMBER>`` and the program ``UN_LIST_TYPE`` (``DRC``, ``Al-Qaida``…).

Names:

* an individual's primary name is FIRST_NAME SECOND_NAME THIRD_NAME FOURTH_NAME joined with
  spaces (empty parts skipped); an entity's is FIRST_NAME. Both are strong.
* NAME_ORIGINAL_SCRIPT (Arabic, Cyrillic…), when present, is strong.
* each ``INDIVIDUAL_ALIAS`` / ``ENTITY_ALIAS`` ALIAS_NAME is weak when its QUALITY is ``Low``
  and strong otherwise (``Good``, ``a.k.a.``, ``f.k.a.`` or empty); empty alias names are skipped.

Whitespace runs inside a name are collapsed to one space: the file wraps long values across
indented lines, which is layout, not part of the name. An ALIAS_NAME that lists several names
(``Haj Qasem; Haji Qassem`` or ``a) … b) …``) gives one name each, with the alias's quality;
``;`` inside brackets does not split. Nothing else is changed.

No effective dates are set: LISTED_ON is when the Council listed the party, metadata about the
designation, and a snapshot of the consolidated list applies as a whole from the moment it is
loaded until it is replaced, so every entry is in force now.

The file is parsed with :mod:`xml.etree.ElementTree`, which neither fetches external entities
nor expands entities without bound (expat >= 2.4 refuses billion-laughs documents); the bundled
2 MB snapshot parses in a few tens of milliseconds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers.expat import ErrorString

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

LIST_ID = "un"
ROOT_TAG = "CONSOLIDATED_LIST"
NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
WEAK_QUALITY = "low"

# (section, entry, alias element, entity type)
_SECTIONS = (
    ("INDIVIDUALS", "INDIVIDUAL", "INDIVIDUAL_ALIAS", EntityType.INDIVIDUAL),
    ("ENTITIES", "ENTITY", "ENTITY_ALIAS", EntityType.ENTITY),
)


def load_un(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read a UN consolidated-list XML file into a watchlist; ``source`` defaults to the path."""
    file = Path(path)
    src = source if source is not None else str(path)
    try:
        root = ET.parse(file).getroot()  # noqa: S314 - see the module docstring
    except ET.ParseError as exc:
        line, column = exc.position
        raise WatchlistError(
            f"not well-formed XML ({ErrorString(exc.code)} at column {column})", source=src, line=line
        ) from exc
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    if root.tag != ROOT_TAG:
        raise WatchlistError(
            f"root element is <{root.tag}>, expected <{ROOT_TAG}> of the UN consolidated list", source=src
        )

    entities: list[Entity] = []
    seen: set[str] = set()
    for section, tag, alias_tag, entity_type in _SECTIONS:
        for index, element in enumerate(root.iterfind(f"{section}/{tag}")):
            entity = _entity(element, alias_tag, entity_type, f"{tag} #{index + 1}", src)
            if entity.id in seen:
                raise WatchlistError(f"{tag} #{index + 1}: reference {entity.id!r} appears twice", source=src)
            seen.add(entity.id)
            entities.append(entity)
    if not entities:
        raise WatchlistError("the list holds no INDIVIDUAL or ENTITY entries", source=src)
    generated = root.get("dateGenerated", "")
    description = "UN Security Council Consolidated List" + (f", generated {generated}" if generated else "")
    return Watchlist.build(LIST_ID, src, entities, description)


def _entity(element: ET.Element, alias_tag: str, entity_type: EntityType, where: str, src: str) -> Entity:
    """One INDIVIDUAL or ENTITY element as an entity; ``where`` names it in error messages."""
    reference = _text(element, "REFERENCE_NUMBER")
    if not reference:
        data_id = _text(element, "DATAID")
        raise WatchlistError(f"{where} (DATAID {data_id}) has no REFERENCE_NUMBER", source=src)
    parts = NAME_PARTS if entity_type is EntityType.INDIVIDUAL else NAME_PARTS[:1]
    primary = " ".join(p for p in (_text(element, part) for part in parts) if p)
    if not primary:
        raise WatchlistError(f"{where} ({reference}) has no FIRST_NAME", source=src)

    names: dict[str, NameStrength] = {primary: NameStrength.STRONG}
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        names.setdefault(original, NameStrength.STRONG)
    for alias in element.iterfind(alias_tag):
        weak = _text(alias, "QUALITY").lower() == WEAK_QUALITY
        strength = NameStrength.WEAK if weak else NameStrength.STRONG
        for text in split_alias(_text(alias, "ALIAS_NAME")):
            if names.setdefault(text, strength) is NameStrength.WEAK and not weak:
                names[text] = NameStrength.STRONG  # the same name given Good and Low: the list vouches for it
    program = _text(element, "UN_LIST_TYPE")
    return Entity(
        id=f"{LIST_ID}:{reference}",
        list_id=LIST_ID,
        type=entity_type,
        names=tuple(ListedName(text, strength) for text, strength in names.items()),
        programs=(program,) if program else (),
    )


# Some ALIAS_NAME fields hold several names: "A; B; C" or an enumeration "a) A b) B".
_ENUMERATION = re.compile(r"\s+[a-z]\)\s+")


def split_alias(text: str) -> list[str]:
    """The names in one ALIAS_NAME field: split on ``;`` and ``b)`` enumerations, not inside brackets."""
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    out = []
    for piece in pieces:
        for part in _ENUMERATION.split(piece):
            name = part.strip().lstrip(")").strip()
            if len(name) > 2 and name[1] == ")" and name[0].islower():
                name = name[2:].strip()
            if name:
                out.append(name)
    return out


def _text(element: ET.Element, child: str) -> str:
    """The text of a child element with whitespace runs collapsed; empty when absent."""
    return " ".join((element.findtext(child) or "").split())
