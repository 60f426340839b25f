"""The watchlist topic's records: chunks and manifests round-trip, and every corruption is caught."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import orjson
import pytest

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist, watchlist_version
from schemas.errors import WatchlistError
from streams.watchlists.codec import (
    CHUNK_BYTES,
    ListInfo,
    Manifest,
    assemble,
    changes,
    chunks_of,
    decode_manifest,
    encode_manifest,
    manifest_key,
)
from streams.watchlists.topic import Candidate, Skipped, VersionScanner


def entity(n: int, list_id: str = "test", name: str | None = None) -> Entity:
    return Entity(
        id=f"{list_id}:e{n}",
        list_id=list_id,
        type=EntityType.INDIVIDUAL if n % 2 else EntityType.ENTITY,
        names=(ListedName(name or f"Name Number {n}"), ListedName(f"Alias {n}", NameStrength.WEAK)),
        programs=("SDGT",),
        effective_from=datetime(2020, 1, 1, tzinfo=UTC) if n % 3 == 0 else None,
    )


def watchlist(count: int, list_id: str = "test") -> Watchlist:
    return Watchlist.build(
        list_id, f"{list_id}.yaml", [entity(n, list_id) for n in range(count)], "a test list"
    )


def manifest_of(lists: list[Watchlist], limit: int = CHUNK_BYTES) -> Manifest:
    version = watchlist_version(lists)
    infos = [
        ListInfo(
            list_id=wl.list_id,
            source=wl.source,
            source_date=None,
            sha256="0" * 64,
            entities=len(wl.entities),
            names=wl.name_count,
            content_hash=wl.content_hash,
            description=wl.description,
            chunks=sum(1 for _ in chunks_of(version, wl, limit)),
        )
        for wl in lists
    ]
    return Manifest(version=version, published_at="2026-11-30T00:00:00.000Z", publisher="t@h", lists=infos)


def test_a_version_round_trips_through_its_chunks_and_manifest() -> None:
    """Entities, names, strengths, programs and dates come back equal, and the version hash is the same."""
    lists = [watchlist(50, "one"), watchlist(7, "two")]
    manifest = decode_manifest(encode_manifest(manifest_of(lists, limit=2000)))
    chunks = dict(kv for wl in lists for kv in chunks_of(manifest.version, wl, 2000))
    assert len(chunks) > 2  # the small limit spread the lists over several chunks
    rebuilt = assemble(manifest, chunks)
    assert [wl.entities for wl in rebuilt] == [wl.entities for wl in lists]
    assert watchlist_version(rebuilt) == manifest.version


def test_chunks_stay_under_the_record_limit_for_a_large_list() -> None:
    """A 20,000-entity list is cut into records of at most CHUNK_BYTES of entities, in order."""
    wl = watchlist(20_000)
    version = watchlist_version([wl])
    chunks = list(chunks_of(version, wl))
    assert len(chunks) > 1
    assert all(len(value) < CHUNK_BYTES + 200 for _, value in chunks)
    ids = [e["id"] for _, value in chunks for e in orjson.loads(value)["entities"]]
    assert ids == [e.id for e in wl.entities]


@pytest.mark.parametrize("damage", ["missing", "garbled", "tampered"])
def test_a_damaged_chunk_makes_the_version_fail(damage: str) -> None:
    """A missing, unparsable or altered chunk is a WatchlistError naming what is wrong."""
    lists = [watchlist(40)]
    manifest = manifest_of(lists, limit=1500)
    chunks = dict(chunks_of(manifest.version, lists[0], 1500))
    key = sorted(chunks)[1]
    if damage == "missing":
        del chunks[key]
    elif damage == "garbled":
        chunks[key] = chunks[key][:-20]
    else:
        chunks[key] = chunks[key].replace(b"Name Number", b"Name Numbr", 1)
    with pytest.raises(WatchlistError):
        assemble(manifest, chunks)


def test_a_manifest_that_lies_about_its_version_fails() -> None:
    """A manifest whose version is not the hash of its lists is refused."""
    lists = [watchlist(5)]
    manifest = manifest_of(lists)
    chunks = dict(chunks_of(manifest.version, lists[0]))
    forged = msgspec.structs.replace(manifest, version="sha256:" + "1" * 64)
    renamed = {k.replace(manifest.version, forged.version): v for k, v in chunks.items()}
    with pytest.raises(WatchlistError, match="hash"):
        assemble(forged, renamed)


def test_the_scanner_pairs_chunks_with_their_manifest_and_reports_a_bad_one() -> None:
    """Chunks wait for their manifest; a manifest that does not parse is reported as skipped."""
    lists = [watchlist(3)]
    manifest = manifest_of(lists)
    scanner = VersionScanner()
    for offset, (key, value) in enumerate(chunks_of(manifest.version, lists[0])):
        assert scanner.feed(key, value, offset) is None
    found = scanner.feed(manifest_key(manifest.version), encode_manifest(manifest), 10)
    assert isinstance(found, Candidate)
    assert found.build()[0].entities == lists[0].entities
    bad = scanner.feed(manifest_key("sha256:" + "2" * 64), b"{not json", 11)
    assert isinstance(bad, Skipped)
    assert "parse" in bad.reason


def test_changes_name_added_removed_and_changed_entities() -> None:
    """The diff between two versions is by entity id, with changed meaning a different content hash."""
    old = [Watchlist.build("t", "t", [entity(1, "t"), entity(2, "t"), entity(3, "t")])]
    new = [Watchlist.build("t", "t", [entity(1, "t"), entity(2, "t", name="Renamed"), entity(4, "t")])]
    diff = changes(old, new)
    assert (diff.added, diff.removed, diff.changed) == (("t:e4",), ("t:e3",), ("t:e2",))
    assert "1 added (t:e4)" in diff.summary()
