"""Reader for OpenSanctions FollowTheMoney (FtM) entity exports: JSON lines, one entity per line.

Each line is an object ``{"id", "schema", "properties": {prop: [values]}, "target", "datasets", …}``.
Screened parties are the lines whose ``target`` is true (all mapped lines when the export has no
``target`` key) and whose schema maps to an entity type:

* ``Person`` → individual; ``Organization``, ``Company``, ``LegalEntity`` → entity;
  ``Vessel`` → vessel; ``Airplane`` → aircraft. Targets of other schemas (crypto wallets,
  securities…) carry no name to screen and are counted in the description, not loaded.

Entity ids are ``opensanctions:<id>``. Names: ``caption`` first (the primary name), then
``name``, ``alias`` and ``previousName`` (strong: OFAC's fka/nka are strong too), then
``weakAlias`` (weak, as OFAC's remarks a.k.a. and the UN's Low aliases). A name given both
strong and weak is strong. Whitespace runs are collapsed; nothing else is changed.

Effective dates come from the ``Sanction`` lines whose ``entity`` names the party; programs are
their ``program`` values. ``effective_from`` is the earliest ``startDate`` when every linked
sanction has one, ``effective_until`` the day after the latest ``endDate`` when every linked
sanction has one (the end date is the last day in force); any open side leaves the bound open,
so a party is never out of force on a guess (fail closed). Partial dates widen the same way:
``2021`` starts on 1 January and ends after 31 December.

Targets whose only sanction topic is ``sanction.counter`` are not loaded: they are on lists by which
Iran, China or Russia sanction Western firms (Lockheed Martin, HENSOLDT…), which a payment screener
does not enforce and which would block ordinary payments; they are counted in the description. Every
other target is loaded whatever its ``topics``: a collection such as ``default`` also holds PEPs,
so choose the datasets to load (the README says more).

The list id is ``opensanctions-<dataset>`` when every target comes from one dataset (the
``eu_fsf`` export gives ``opensanctions-eu_fsf``), else ``opensanctions``, so one dataset
export and a multi-list collection can be loaded side by side. The file is read line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

LIST_ID = "opensanctions"
ID_PREFIX = "opensanctions:"
SUFFIXES = (".ftm.json", ".jsonl", ".ndjson")
SCHEMA_TYPES = {
    "Person": EntityType.INDIVIDUAL,
    "Organization": EntityType.ENTITY,
    "Company": EntityType.ENTITY,
    "LegalEntity": EntityType.ENTITY,
    "Vessel": EntityType.VESSEL,
    "Airplane": EntityType.AIRCRAFT,
}
STRONG_PROPS = ("name", "alias", "previousName")
WEAK_PROPS = ("weakAlias",)
COUNTER_SANCTIONS = "sanction.counter"
_DATASET = re.compile(r"[a-z0-9][a-z0-9._-]*")
_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


@dataclass
class _Party:
    """A target line, kept until every Sanction line has been read."""

    line: int
    id: str
    type: EntityType
    names: dict[str, NameStrength]
    datasets: tuple[str, ...]


@dataclass
class _Listing:
    """What the Sanction lines say about one party."""

    programs: list[str] = field(default_factory=list)
    starts: list[datetime | None] = field(default_factory=list)
    ends: list[datetime | None] = field(default_factory=list)


def is_ftm_file(path: Path) -> bool:
    """True for ``.ftm.json``/``.jsonl``/``.ndjson``, or a ``.json`` whose first line is an FtM entity."""
    name = path.name.lower()
    if name.endswith(SUFFIXES):
        return True
    if not name.endswith(".json"):
        return False
    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 20)
        value = orjson.loads(first)
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(value, dict) and "schema" in value and "properties" in value


def load_opensanctions(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read an OpenSanctions FtM JSON-lines export into a watchlist; ``source`` defaults to the path."""
    file = Path(path)
    src = source if source is not None else str(path)
    parties: list[_Party] = []
    listings: dict[str, _Listing] = {}
    seen: set[str] = set()
    skipped = 0
    counter_only = 0
    try:
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                record = _record(raw, number, src)
                schema = record["schema"]
                if schema == "Sanction":
                    _add_listing(record, listings, number, src)
                    continue
                if not record.get("target", True):
                    continue
                if _counter_sanctions_only(record):
                    counter_only += 1
                    continue
                entity_type = SCHEMA_TYPES.get(schema)
                if entity_type is None:
                    skipped += 1
                    continue
                party = _party(record, entity_type, number, src)
                if party.id in seen:
                    raise WatchlistError(f"entity {party.id!r} appears twice", source=src, line=number)
                seen.add(party.id)
                parties.append(party)
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    if not parties:
        raise WatchlistError("the export holds no target Person, Organization, Vessel… entity", source=src)
    list_id = _list_id(parties)
    entities = [_entity(p, listings.get(p.id), list_id) for p in parties]
    description = f"OpenSanctions FollowTheMoney export ({list_id})"
    if skipped:
        description += f"; {skipped:,} targets of unscreened schemas skipped"
    if counter_only:
        description += f"; {counter_only:,} counter-sanctions targets (sanction.counter) skipped"
    return Watchlist.build(list_id, src, entities, description)


def _counter_sanctions_only(record: dict[str, Any]) -> bool:
    """True for a target listed only by counter-sanctions: ``sanction.counter``, no other sanction topic."""
    properties = record.get("properties")
    topics = properties.get("topics") if isinstance(properties, dict) else None
    if not isinstance(topics, list) or COUNTER_SANCTIONS not in topics:
        return False
    return not any(isinstance(t, str) and t.startswith("sanction") and t != COUNTER_SANCTIONS for t in topics)


def _record(raw: bytes, number: int, src: str) -> dict[str, Any]:
    """One line as an FtM object with ``id``, ``schema`` and ``properties``."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WatchlistError(
            f"not a JSON object ({exc}); the file may be cut short", source=src, line=number
        ) from exc
    if not isinstance(record, dict):
        raise WatchlistError("the line is not a JSON object", source=src, line=number)
    ident, schema, props = record.get("id"), record.get("schema"), record.get("properties")
    if not isinstance(ident, str) or not ident:
        raise WatchlistError("the entity has no 'id'", source=src, line=number)
    if not isinstance(schema, str) or not isinstance(props, dict):
        raise WatchlistError(f"entity {ident!r} has no 'schema' or 'properties'", source=src, line=number)
    return record


def _values(record: dict[str, Any], prop: str, number: int, src: str) -> list[str]:
    """The values of one property: a list of strings (FtM writes every property as a list)."""
    raw = record["properties"].get(prop, [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise WatchlistError(
            f"entity {record['id']!r}: {prop!r} is not a list of strings", source=src, line=number
        )
    return raw


def _party(record: dict[str, Any], entity_type: EntityType, number: int, src: str) -> _Party:
    """A target line's names and datasets."""
    names: dict[str, NameStrength] = {}
    caption = record.get("caption")
    candidates = [(caption, NameStrength.STRONG)] if isinstance(caption, str) else []
    for prop in STRONG_PROPS:
        candidates += [(v, NameStrength.STRONG) for v in _values(record, prop, number, src)]
    for prop in WEAK_PROPS:
        candidates += [(v, NameStrength.WEAK) for v in _values(record, prop, number, src)]
    for value, strength in candidates:
        text = " ".join(value.split())
        if text and names.setdefault(text, strength) is NameStrength.WEAK and strength is NameStrength.STRONG:
            names[text] = NameStrength.STRONG
    if not names:
        raise WatchlistError(f"{record['schema']} {record['id']!r} has no name", source=src, line=number)
    datasets = record.get("datasets") or []
    return _Party(number, ID_PREFIX + record["id"], entity_type, names, tuple(str(d) for d in datasets))


def _add_listing(record: dict[str, Any], listings: dict[str, _Listing], number: int, src: str) -> None:
    """Attach one Sanction line's program and dates to every party it names."""
    programs = _values(record, "program", number, src)
    start = _bound(_values(record, "startDate", number, src), record, "startDate", number, src, end=False)
    end = _bound(_values(record, "endDate", number, src), record, "endDate", number, src, end=True)
    for target in _values(record, "entity", number, src):
        listing = listings.setdefault(ID_PREFIX + target, _Listing())
        listing.programs += [p for p in programs if p not in listing.programs]
        listing.starts.append(start)
        listing.ends.append(end)


def _bound(
    values: list[str], record: dict[str, Any], prop: str, number: int, src: str, *, end: bool
) -> datetime | None:
    """The widest reading of a date property: earliest start, or the instant after the latest end."""
    instants = []
    for value in values:
        match = _DATE.match(value)
        try:
            if match is None:
                raise ValueError(value)
            year, month, day = match.group(1), match.group(2), match.group(3)
            if end:
                instants.append(_after(int(year), month, day))
            else:
                instants.append(datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC))
        except ValueError:
            message = f"sanction {record['id']!r}: {prop} {value!r} is not a date"
            raise WatchlistError(message, source=src, line=number) from None
    if not instants:
        return None
    return max(instants) if end else min(instants)


def _after(year: int, month: str | None, day: str | None) -> datetime:
    """00:00 UTC after the last day of a (possibly partial) date: the exclusive end of its period."""
    if month is None:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    if day is None:
        first = date(year, int(month), 1)
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return datetime.combine(following, datetime.min.time(), tzinfo=UTC)
    return datetime.combine(
        date(year, int(month), int(day)) + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )


def _entity(party: _Party, listing: _Listing | None, list_id: str) -> Entity:
    """The party with the programs and effective period of its Sanction lines."""
    start = end = None
    programs: tuple[str, ...] = ()
    if listing is not None:
        programs = tuple(" ".join(p.split()) for p in listing.programs if p.strip())
        if listing.starts and all(s is not None for s in listing.starts):
            start = min(s for s in listing.starts if s is not None)
        if listing.ends and all(e is not None for e in listing.ends):
            end = max(e for e in listing.ends if e is not None)
        if start is not None and end is not None and end <= start:
            start = end = None  # a contradictory record: keep the party in force rather than guess
    return Entity(
        id=party.id,
        list_id=list_id,
        type=party.type,
        names=tuple(ListedName(text, strength) for text, strength in party.names.items()),
        programs=programs,
        effective_from=start,
        effective_until=end,
    )


def _list_id(parties: list[_Party]) -> str:
    """``opensanctions-<dataset>`` when every party comes from that one dataset, else ``opensanctions``."""
    datasets = {d for p in parties for d in p.datasets}
    if len(datasets) == 1:
        (only,) = datasets
        if _DATASET.fullmatch(only):
            return f"{LIST_ID}-{only}"
    return LIST_ID
