"""The in-memory watchlist model shared by every list source.

A :class:`Watchlist` is a tuple of :class:`Entity` values read from one source (an OFAC
SDN folder, a UN XML file, a native YAML/JSON file or the built-in list). Sources live
in :mod:`matchers.sources`; :func:`load_watchlists` picks the reader for each ``SRC``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import orjson


class EntityType(StrEnum):
    """What a listed party is; vessels and aircraft only ever match a whole party-name field."""

    INDIVIDUAL = "individual"
    ENTITY = "entity"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


class NameStrength(StrEnum):
    """Strong names are a list's real names; weak aliases (nicknames, low quality) match whole fields only."""

    STRONG = "strong"
    WEAK = "weak"


@dataclass(frozen=True, slots=True)
class ListedName:
    """One name of an entity as the list writes it (individuals may be written ``LAST, First Middle``)."""

    text: str
    strength: NameStrength = NameStrength.STRONG


@dataclass(frozen=True, slots=True)
class Entity:
    """A listed party: its names, programs and the period in which transactions with it are banned.

    ``effective_from`` is inclusive and ``effective_until`` exclusive; both are timezone-aware
    or ``None`` (no bound). The first name is the primary name.
    """

    id: str
    list_id: str
    type: EntityType
    names: tuple[ListedName, ...]
    programs: tuple[str, ...] = ()
    effective_from: datetime | None = None
    effective_until: datetime | None = None

    @property
    def primary_name(self) -> str:
        """The entity's main name, as the list writes it."""
        return self.names[0].text

    def in_force(self, at: datetime) -> bool:
        """True when ``at`` lies in ``[effective_from, effective_until)``."""
        if self.effective_from is not None and at < self.effective_from:
            return False
        return not (self.effective_until is not None and at >= self.effective_until)

    def in_force_at(self, created_at: datetime, screened_at: datetime) -> str | None:
        """Rule f: when the entity blocks an event: ``created_at``, ``screened_at``, ``both``, or ``None``."""
        at_created = self.in_force(created_at)
        if self.in_force(screened_at):
            return "both" if at_created else "screened_at"
        return "created_at" if at_created else None

    def canonical(self) -> dict[str, object]:
        """A JSON-ready dict used for the content hash and for ``txscreen lists``-style dumps."""
        return {
            "id": self.id,
            "type": self.type.value,
            "names": [[n.text, n.strength.value] for n in self.names],
            "programs": list(self.programs),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_until": self.effective_until.isoformat() if self.effective_until else None,
        }

    def content_hash(self) -> str:
        """``sha256:`` + hex over :meth:`canonical`: it changes when any listed fact of the entity does.

        Allowlist entries record it when approved (an entry is void once the entity changes), and list
        versions use it to say which entities changed.
        """
        body = orjson.dumps(self.canonical(), option=orjson.OPT_SORT_KEYS)
        return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class Watchlist:
    """The entities of one source; ``source`` is the path (or ``builtin``) it came from."""

    list_id: str
    source: str
    entities: tuple[Entity, ...]
    description: str = ""
    content_hash: str = field(default="", compare=False)

    @staticmethod
    def build(list_id: str, source: str, entities: Iterable[Entity], description: str = "") -> Watchlist:
        """Make a watchlist and compute its content hash over the canonical entities."""
        ents = tuple(entities)
        digest = hashlib.sha256(list_id.encode())
        for e in ents:
            digest.update(orjson.dumps(e.canonical(), option=orjson.OPT_SORT_KEYS))
        return Watchlist(list_id, source, ents, description, digest.hexdigest())

    @property
    def name_count(self) -> int:
        """How many names (primary and aliases) the list holds."""
        return sum(len(e.names) for e in self.entities)


def watchlist_version(lists: Sequence[Watchlist]) -> str:
    """The SHA-256 content hash over all loaded lists (``sha256:`` + 64 hex), stamped on every output."""
    digest = hashlib.sha256()
    for wl in sorted(lists, key=lambda w: (w.list_id, w.content_hash)):
        digest.update(f"{wl.list_id}={wl.content_hash};".encode())
    return "sha256:" + digest.hexdigest()
