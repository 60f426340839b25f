"""Reader for the EU Financial Sanctions Files (FSF) consolidated list, XML 1.1.

The root is ``<export>`` in the namespace ``http://eu.europa.ec/fpi/fsd/export``; each
``<sanctionEntity logicalId=…>`` becomes an entity with id ``eu-fsf:<logicalId>``:

* ``<subjectType code="person">`` → individual, ``code="enterprise"`` → entity; any other code
  is refused (the reader does not guess a type that decides whole-field matching).
* every ``<nameAlias>`` gives one name: its ``wholeName``, or ``firstName middleName lastName``
  when ``wholeName`` is empty. ``strong="false"`` makes it weak (the EU's own mark for a weak
  alias, like the UN's Low quality); a name given both strong and weak is strong. The first
  name is the primary name (the file has no primary flag). Whitespace runs are collapsed.
* programs are the ``programme`` attributes of its ``<regulation>`` elements; the effective
  date is the earliest ``entryIntoForceDate`` of those regulations (the designating one; later
  ones amend), left open when any regulation has none, so a party is never out of force on a
  guess. There is no end date: delisted parties leave the file.

Parsed with :mod:`xml.etree.ElementTree` (no external entities, bounded expansion), as the UN reader.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time
from pathlib import Path
from xml.parsers.expat import ErrorString

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

LIST_ID = "eu-fsf"
NAMESPACE = "http://eu.europa.ec/fpi/fsd/export"
ROOT_TAG = f"{{{NAMESPACE}}}export"
SUBJECT_TYPES = {"person": EntityType.INDIVIDUAL, "enterprise": EntityType.ENTITY}
_NS = {"fsd": NAMESPACE}


def load_eu_fsf(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read an EU FSF XML export into a watchlist; ``source`` defaults to the path."""
    src = source if source is not None else str(path)
    try:
        root = ET.parse(Path(path)).getroot()  # noqa: S314 - see the module docstring
    except ET.ParseError as exc:
        line, column = exc.position
        raise WatchlistError(
            f"not well-formed XML ({ErrorString(exc.code)} at column {column})", source=src, line=line
        ) from exc
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    if root.tag != ROOT_TAG:
        raise WatchlistError(
            f"root element is <{root.tag}>, expected <{ROOT_TAG}> of the EU FSF export", source=src
        )
    entities: list[Entity] = []
    seen: set[str] = set()
    for index, element in enumerate(root.iterfind("fsd:sanctionEntity", _NS)):
        entity = _entity(element, f"sanctionEntity #{index + 1}", src)
        if entity.id in seen:
            raise WatchlistError(f"sanctionEntity #{index + 1}: {entity.id!r} appears twice", source=src)
        seen.add(entity.id)
        entities.append(entity)
    if not entities:
        raise WatchlistError("the export holds no sanctionEntity", source=src)
    generated = root.get("generationDate", "")
    description = "EU Financial Sanctions Files consolidated list" + (
        f", generated {generated}" if generated else ""
    )
    return Watchlist.build(LIST_ID, src, entities, description)


def _entity(element: ET.Element, where: str, src: str) -> Entity:
    """One sanctionEntity; ``where`` names it in error messages."""
    logical_id = (element.get("logicalId") or "").strip()
    if not logical_id:
        raise WatchlistError(f"{where} has no logicalId", source=src)
    where = f"{where} (logicalId {logical_id})"
    subject = element.find("fsd:subjectType", _NS)
    entity_type = subject_type(subject.get("code", "") if subject is not None else "", where, src)
    names: dict[str, NameStrength] = {}
    for alias in element.iterfind("fsd:nameAlias", _NS):
        text = _name(alias)
        if not text:
            continue
        add_name(names, text, _strength(alias, where, src))
    if not names:
        raise WatchlistError(f"{where} has no nameAlias with a name", source=src)
    regulations = [
        (regulation.get("programme") or "", regulation.get("entryIntoForceDate") or "")
        for regulation in element.iterfind("fsd:regulation", _NS)
    ]
    return designated(logical_id, entity_type, names, regulations, where=where, src=src)


def subject_type(code: str, where: str, src: str) -> EntityType:
    """The entity type of a ``subjectType`` code: person or enterprise; any other is refused (the type
    decides whole-field matching, so the reader does not guess it)."""
    entity_type = SUBJECT_TYPES.get(code.strip())
    if entity_type is None:
        raise WatchlistError(f"{where}: subjectType {code!r} is not person or enterprise", source=src)
    return entity_type


def designated(
    logical_id: str,
    entity_type: EntityType,
    names: dict[str, NameStrength],
    regulations: list[tuple[str, str]],
    *,
    where: str,
    src: str,
) -> Entity:
    """The entity ``eu-fsf:<logical_id>``: its programs are the ``programme`` of its regulations
    (``(programme, entryIntoForceDate)`` pairs), in force from the earliest date when every regulation
    has one."""
    programs: list[str] = []
    starts: list[datetime | None] = []
    for programme_text, start_text in regulations:
        programme = " ".join(programme_text.split())
        if programme and programme not in programs:
            programs.append(programme)
        starts.append(entry_into_force(start_text, where, src))
    start = min(s for s in starts if s is not None) if starts and all(starts) else None
    return Entity(
        id=f"{LIST_ID}:{logical_id}",
        list_id=LIST_ID,
        type=entity_type,
        names=tuple(ListedName(t, s) for t, s in names.items()),
        programs=tuple(programs),
        effective_from=start,
    )


def add_name(names: dict[str, NameStrength], text: str, strength: NameStrength) -> None:
    """Add a name to ``names``; a name given both strong and weak is strong."""
    if names.setdefault(text, strength) is NameStrength.WEAK and strength is NameStrength.STRONG:
        names[text] = NameStrength.STRONG


def alias_text(whole: str, first: str, middle: str, last: str) -> str:
    """The whole name, else the name parts joined, with whitespace runs collapsed."""
    joined = " ".join(whole.split())
    if joined:
        return joined
    return " ".join(" ".join((first, middle, last)).split())


def _name(alias: ET.Element) -> str:
    """A nameAlias's :func:`alias_text`."""
    parts = (alias.get(a) or "" for a in ("wholeName", "firstName", "middleName", "lastName"))
    return alias_text(*parts)


def _strength(alias: ET.Element, where: str, src: str) -> NameStrength:
    """``strong="false"`` is weak, ``true`` or absent strong; anything else is refused."""
    value = (alias.get("strong") or "true").strip().lower()
    if value not in ("true", "false"):
        raise WatchlistError(f"{where}: nameAlias strong={value!r} is not true or false", source=src)
    return NameStrength.WEAK if value == "false" else NameStrength.STRONG


def entry_into_force(value: str, where: str, src: str) -> datetime | None:
    """A regulation's entryIntoForceDate (``YYYY-MM-DD``) at 00:00 UTC, or ``None`` when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise WatchlistError(f"{where}: entryIntoForceDate {value!r} is not a date", source=src) from None
    return datetime.combine(day, time(0), tzinfo=UTC)
