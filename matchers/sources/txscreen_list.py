"""Reader for txscreen's own list format, ``txscreen-watchlist/v1``, in YAML or JSON.

The format is described by ``schemas/watchlist.v1.schema.json`` (JSON Schema 2020-12)::

    format: txscreen-watchlist/v1
    list_id: us-eo-2020             # [a-z0-9][a-z0-9._-]*
    description: ...                # optional
    entities:                       # at least one
      - id: bytedance               # local id; the entity id becomes "<list_id>:<id>"
        type: entity                # individual | entity | vessel | aircraft
        names:                      # at least one; the first is the primary name
          - ByteDance Ltd.          # a bare string is a strong name
          - {name: Big D, strength: weak}
        programs: [EO13942]         # optional
        effective_from: 2020-09-20  # optional, inclusive: a date (00:00 UTC) or an RFC 3339 timestamp
        effective_until: 2021-06-09 # optional, exclusive

Individuals may be written ``LAST, First`` as OFAC does. Validation happens here, in Python, with
a message naming the entity and the field; the JSON Schema says the same thing for editors and
tests (``jsonschema`` is not a runtime dependency). Unknown keys are errors, so that a misspelt
``effective_untill`` cannot silently make a ban permanent, and so are duplicate keys, which YAML
and JSON parsers would otherwise resolve by keeping the last one.

YAML is read with a safe loader. YAML 1.1 turns bare ``2020-09-20`` into a date, ``yes``/``no``
into booleans and ``123`` into a number: dates are accepted, the others are reported with a hint
to quote the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

FORMAT_TAG = "txscreen-watchlist/v1"
LIST_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
LOCAL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A date, or an RFC 3339 timestamp with its UTC offset (the same pattern as the JSON Schema).
TIMESTAMP_PATTERN = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?"
)

DOCUMENT_KEYS = frozenset({"format", "list_id", "description", "entities"})
ENTITY_KEYS = frozenset({"id", "type", "names", "programs", "effective_from", "effective_until"})
NAME_KEYS = frozenset({"name", "strength"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})


def load_txscreen_list(path: str | Path, *, source: str | None = None) -> Watchlist:
    """Read a txscreen list (YAML or JSON) into a watchlist; ``source`` defaults to the path."""
    file = Path(path)
    src = source if source is not None else str(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise WatchlistError(f"cannot read the file ({exc.strerror or exc})", source=src) from exc
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"the file is not UTF-8 (byte {exc.start})", source=src) from exc
    document = _parse_yaml(text, src) if file.suffix.lower() in YAML_SUFFIXES else _parse_json(text, src)
    return parse_txscreen_list(document, src)


def parse_txscreen_list(document: Any, source: str) -> Watchlist:
    """Validate a decoded ``txscreen-watchlist/v1`` document and build its watchlist."""
    if document is None:
        raise WatchlistError("the file is empty", source=source)
    if not isinstance(document, Mapping):
        raise WatchlistError(f"the document is a {_kind(document)}, expected a mapping", source=source)
    _no_unknown_keys(document, DOCUMENT_KEYS, "the document", source)
    tag = document.get("format")
    if tag != FORMAT_TAG:
        raise WatchlistError(f"'format' is {tag!r}, expected {FORMAT_TAG!r}", source=source)
    list_id = _string(document.get("list_id"), "'list_id'", source)
    if not LIST_ID_PATTERN.fullmatch(list_id):
        raise WatchlistError(f"'list_id' {list_id!r} does not match [a-z0-9][a-z0-9._-]*", source=source)
    description = document.get("description", "")
    if description != "":
        description = _string(description, "'description'", source)
    raw_entities = document.get("entities")
    if not isinstance(raw_entities, list) or not raw_entities:
        raise WatchlistError("'entities' must be a non-empty list", source=source)

    entities: list[Entity] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_entities):
        entity = _entity(raw, index, list_id, source)
        if entity.id in seen:
            local_id = entity.id.split(":", 1)[1]
            raise WatchlistError(
                f"entities[{index}] repeats the id {local_id!r} of entities[{seen[entity.id]}]", source=source
            )
        seen[entity.id] = index
        entities.append(entity)
    return Watchlist.build(list_id, source, entities, description)


def _entity(raw: Any, index: int, list_id: str, source: str) -> Entity:
    """One entry of ``entities``, validated field by field."""
    where = f"entities[{index}]"
    if not isinstance(raw, Mapping):
        raise WatchlistError(f"{where} is a {_kind(raw)}, expected a mapping", source=source)
    local_id = _string(raw.get("id"), f"{where} 'id'", source)
    if not LOCAL_ID_PATTERN.fullmatch(local_id):
        raise WatchlistError(
            f"{where} 'id' {local_id!r} does not match [A-Za-z0-9][A-Za-z0-9._-]*", source=source
        )
    where = f"entities[{index}] (id {local_id!r})"
    _no_unknown_keys(raw, ENTITY_KEYS, where, source)

    type_name = _string(raw.get("type"), f"{where} 'type'", source)
    try:
        entity_type = EntityType(type_name)
    except ValueError:
        allowed = ", ".join(t.value for t in EntityType)
        raise WatchlistError(f"{where} 'type' {type_name!r} is not one of {allowed}", source=source) from None

    raw_names = raw.get("names")
    if not isinstance(raw_names, list) or not raw_names:
        raise WatchlistError(f"{where} 'names' must be a non-empty list", source=source)
    names = tuple(_name(n, f"{where} names[{i}]", source) for i, n in enumerate(raw_names))

    raw_programs = raw.get("programs", [])
    if not isinstance(raw_programs, list):
        raise WatchlistError(f"{where} 'programs' must be a list of strings", source=source)
    programs = tuple(_string(p, f"{where} programs[{i}]", source) for i, p in enumerate(raw_programs))

    start = _instant(raw.get("effective_from"), f"{where} 'effective_from'", source)
    end = _instant(raw.get("effective_until"), f"{where} 'effective_until'", source)
    if start is not None and end is not None and start >= end:
        raise WatchlistError(
            f"{where} 'effective_from' {start.isoformat()} is not before 'effective_until' {end.isoformat()}",
            source=source,
        )
    return Entity(
        id=f"{list_id}:{local_id}",
        list_id=list_id,
        type=entity_type,
        names=names,
        programs=programs,
        effective_from=start,
        effective_until=end,
    )


def _name(raw: Any, where: str, source: str) -> ListedName:
    """A bare string (strong) or ``{name, strength}``."""
    if isinstance(raw, Mapping):
        _no_unknown_keys(raw, NAME_KEYS, where, source)
        text = _string(raw.get("name"), f"{where} 'name'", source)
        strength_name = raw.get("strength", NameStrength.STRONG.value)
        try:
            strength = NameStrength(strength_name)
        except ValueError:
            raise WatchlistError(
                f"{where} 'strength' {strength_name!r} is not strong or weak", source=source
            ) from None
        return ListedName(text, strength)
    return ListedName(_string(raw, where, source))


def _instant(raw: Any, where: str, source: str) -> datetime | None:
    """An effective bound: a date (00:00 UTC) or a timestamp with a UTC offset, or ``None`` when absent."""
    if raw is None:
        return None
    if isinstance(raw, datetime):  # YAML timestamp; checked before date, its base class
        value = raw
    elif isinstance(raw, date):  # YAML bare date
        return datetime.combine(raw, time(0), tzinfo=UTC)
    elif isinstance(raw, str) and TIMESTAMP_PATTERN.fullmatch(raw.strip()):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise WatchlistError(f"{where} {raw!r} is not a valid date or time", source=source) from None
        if len(raw.strip()) == 10:
            return value.replace(tzinfo=UTC)
    else:
        raise WatchlistError(
            f"{where} {raw!r} is not a date (2020-09-20) or an RFC 3339 timestamp (2020-09-20T00:00:00Z)",
            source=source,
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise WatchlistError(f"{where} {raw!s} has no UTC offset; add Z or +hh:mm", source=source)
    return value


def _string(raw: Any, where: str, source: str) -> str:
    """A non-empty string, stripped; other YAML scalars get a hint to quote them."""
    if raw is None:
        raise WatchlistError(f"{where} is missing or empty", source=source)
    if not isinstance(raw, str):
        raise WatchlistError(
            f"{where} is a {_kind(raw)} ({raw!r}), expected a string (quote it in YAML)", source=source
        )
    text = raw.strip()
    if not text:
        raise WatchlistError(f"{where} is empty", source=source)
    return text


def _no_unknown_keys(raw: Mapping[Any, Any], allowed: frozenset[str], where: str, source: str) -> None:
    """Refuse keys the format does not define (a typo would otherwise be silently ignored)."""
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise WatchlistError(
            f"{where} has unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", source=source
        )


def _kind(value: Any) -> str:
    """A word for what a decoded value is, for error messages."""
    kinds = {bool: "boolean", int: "number", float: "number", list: "list", dict: "mapping", str: "string"}
    return kinds.get(type(value), type(value).__name__)


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing a mapping that repeats a key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: str) -> Any:
    """Decode YAML with the safe loader; a syntax error names its line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "invalid YAML"
        raise WatchlistError(
            f"not valid YAML ({problem})", source=source, line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise WatchlistError(f"not valid YAML ({exc})", source=source) from exc


def _parse_json(text: str, source: str) -> Any:
    """Decode JSON; a syntax error names its line, a repeated key is refused."""
    if not text.strip():
        return None

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise WatchlistError(f"not valid JSON (duplicate key {duplicates[0]!r})", source=source)
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        raise WatchlistError(f"not valid JSON ({exc.msg})", source=source, line=exc.lineno) from exc
