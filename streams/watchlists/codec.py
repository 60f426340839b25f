"""The records of a list version on the watchlist topic: chunks of entities, then one manifest.

A version is published in one Kafka transaction to a one-partition compacted topic:

=================================  ===========================================================
key                                value (JSON)
=================================  ===========================================================
``chunk:<version>:<list>:<n>``     ``{"version", "list_id", "index", "entities": [...]}``: up to
                                   :data:`CHUNK_BYTES` of :meth:`Entity.canonical` dicts
``manifest:<version>``             the :class:`Manifest`: version, publish time, publisher and,
                                   per list, source, source date, sha256, counts, content hash,
                                   and how many chunks it has
=================================  ===========================================================

The chunks come first and the manifest last, so a reader that has seen a manifest has seen its
chunks (read ``read_committed``: an aborted publish leaves nothing). Every key names its version,
so compaction (which keeps the last record per key) never removes a chunk some live version
needs; a re-published version rewrites identical records under the same keys. ``txscreen lists
publish --keep N`` tombstones the records of versions older than the last N.

Decoding checks everything it can: a chunk that is missing or does not parse, a list whose content
hash or a version whose hash differs from its manifest, are :class:`WatchlistError` with the
reason; such a version is skipped by workers and shown as skipped by ``txscreen lists status``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import orjson

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist, watchlist_version
from schemas.errors import WatchlistError

FORMAT = "txscreen-watchlist-version/v1"
#: Most bytes of entity JSON in one chunk record (Kafka's default record limit is 1 MiB; this leaves room
#: for the key, the headers and the chunk's own members).
CHUNK_BYTES = 900_000
MANIFEST_PREFIX = "manifest:"
CHUNK_PREFIX = "chunk:"


class ListInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One list of a version, as its manifest describes it."""

    list_id: str
    source: str
    source_date: str | None
    sha256: str
    """sha256 (hex) of the source: the file's bytes, or for a folder of its ``sha256sum``-style listing."""
    entities: int
    names: int
    content_hash: str
    description: str = ""
    chunks: int


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a version is: the last record of its publish."""

    format: str = FORMAT
    version: str
    published_at: str
    publisher: str
    lists: list[ListInfo]

    @property
    def entity_count(self) -> int:
        """Entities over every list."""
        return sum(info.entities for info in self.lists)

    @property
    def chunk_keys(self) -> list[str]:
        """The keys of every chunk the version needs, in order."""
        return [chunk_key(self.version, info.list_id, n) for info in self.lists for n in range(info.chunks)]


class Chunk(msgspec.Struct, frozen=True, kw_only=True):
    """A slice of one list's entities."""

    version: str
    list_id: str
    index: int
    entities: list[dict[str, Any]]


_decode_manifest = msgspec.json.Decoder(Manifest).decode
_decode_chunk = msgspec.json.Decoder(Chunk).decode


def manifest_key(version: str) -> str:
    """The key of a version's manifest."""
    return f"{MANIFEST_PREFIX}{version}"


def chunk_key(version: str, list_id: str, index: int) -> str:
    """The key of chunk ``index`` of one list of a version."""
    return f"{CHUNK_PREFIX}{version}:{list_id}:{index}"


def encode_manifest(manifest: Manifest) -> bytes:
    """The manifest record's value."""
    return msgspec.json.encode(manifest)


def decode_manifest(value: bytes) -> Manifest:
    """A manifest record's value; WatchlistError when it is not a manifest."""
    try:
        manifest = _decode_manifest(value)
    except msgspec.DecodeError as exc:
        raise WatchlistError(f"the manifest does not parse: {exc}") from exc
    if manifest.format != FORMAT:
        raise WatchlistError(f"the manifest's format is {manifest.format!r}, not {FORMAT!r}")
    return manifest


def chunks_of(version: str, watchlist: Watchlist, limit: int = CHUNK_BYTES) -> Iterator[tuple[str, bytes]]:
    """``(key, value)`` of each chunk of one list: entities in list order, at most ``limit`` bytes each."""
    index = 0
    batch: list[bytes] = []
    size = 0

    def record() -> tuple[str, bytes]:
        head = orjson.dumps({"version": version, "list_id": watchlist.list_id, "index": index})
        value = head[:-1] + b',"entities":[' + b",".join(batch) + b"]}"
        return chunk_key(version, watchlist.list_id, index), value

    for entity in watchlist.entities:
        body = orjson.dumps(entity.canonical())
        if len(body) > limit:
            raise WatchlistError(f"entity {entity.id} alone is larger than a chunk ({len(body):,} bytes)")
        if batch and size + len(body) + 1 > limit:
            yield record()
            index += 1
            batch, size = [], 0
        batch.append(body)
        size += len(body) + 1
    if batch:
        yield record()


def chunk_count(version: str, watchlist: Watchlist, limit: int = CHUNK_BYTES) -> int:
    """How many chunks :func:`chunks_of` makes."""
    return sum(1 for _ in chunks_of(version, watchlist, limit))


def entity_from(data: Mapping[str, Any], list_id: str) -> Entity:
    """An entity back from its :meth:`Entity.canonical` dict; WatchlistError when it is not one."""
    try:
        names = tuple(ListedName(str(text), NameStrength(strength)) for text, strength in data["names"])
        start, until = data.get("effective_from"), data.get("effective_until")
        return Entity(
            id=str(data["id"]),
            list_id=list_id,
            type=EntityType(data["type"]),
            names=names,
            programs=tuple(str(p) for p in data.get("programs") or ()),
            effective_from=datetime.fromisoformat(str(start)) if start else None,
            effective_until=datetime.fromisoformat(str(until)) if until else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WatchlistError(f"an entity of list {list_id} does not decode: {exc!r}") from exc


def assemble(manifest: Manifest, chunks: Mapping[str, bytes]) -> tuple[Watchlist, ...]:
    """The lists of a version from its manifest and chunk values; WatchlistError with the reason when a
    chunk is missing or corrupt, or a hash differs from the manifest's."""
    lists = []
    for info in manifest.lists:
        entities: list[Entity] = []
        for index in range(info.chunks):
            key = chunk_key(manifest.version, info.list_id, index)
            value = chunks.get(key)
            if value is None:
                raise WatchlistError(f"chunk {index} of list {info.list_id} is missing ({key})")
            try:
                chunk = _decode_chunk(value)
            except msgspec.DecodeError as exc:
                raise WatchlistError(f"chunk {key} does not parse: {exc}") from exc
            entities.extend(entity_from(data, info.list_id) for data in chunk.entities)
        watchlist = Watchlist.build(info.list_id, info.source, entities, info.description)
        if watchlist.content_hash != info.content_hash or len(entities) != info.entities:
            raise WatchlistError(f"list {info.list_id}'s entities do not match the manifest's hash and count")
        lists.append(watchlist)
    if not lists:
        raise WatchlistError("the manifest lists no list")
    version = watchlist_version(lists)
    if version != manifest.version:
        raise WatchlistError(f"the lists hash to {version}, not to the manifest's version")
    return tuple(lists)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed between two versions, by entity id (``list:id``)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def summary(self, shown: int = 10) -> str:
        """``+3 added, -1 removed, ~2 changed`` with the first ids of each."""
        parts = []
        for label, ids in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            more = f", … {len(ids) - shown:,} more" if len(ids) > shown else ""
            listed = f" ({', '.join(ids[:shown])}{more})" if ids else ""
            parts.append(f"{len(ids):,} {label}{listed}")
        return "; ".join(parts)


def changes(old: Sequence[Watchlist], new: Sequence[Watchlist]) -> Changes:
    """Entities added, removed and changed (:meth:`Entity.content_hash` differs) from ``old`` to ``new``."""

    def hashes(lists: Sequence[Watchlist]) -> dict[str, str]:
        return {e.id: e.content_hash() for wl in lists for e in wl.entities}

    before, after = hashes(old), hashes(new)
    return Changes(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])),
    )
