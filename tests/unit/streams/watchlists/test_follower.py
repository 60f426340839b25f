"""The follower's choice among versions, without a broker: newest good one, failures skipped."""

from __future__ import annotations

from matchers.watchlist import Entity, EntityType, ListedName, Watchlist, watchlist_version
from streams.settings import KafkaSettings
from streams.watchlists.codec import ListInfo, Manifest, chunks_of
from streams.watchlists.follower import WatchlistFollower
from streams.watchlists.topic import Candidate


def candidate(names: list[str], offset: int, *, drop_chunk: bool = False) -> Candidate:
    entities = [Entity(f"t:{n}", "t", EntityType.ENTITY, (ListedName(name),)) for n, name in enumerate(names)]
    wl = Watchlist.build("t", "t.yaml", entities)
    version = watchlist_version([wl])
    chunks = dict(chunks_of(version, wl))
    info = ListInfo(
        list_id="t", source="t.yaml", source_date=None, sha256="", entities=len(entities),
        names=len(entities), content_hash=wl.content_hash, chunks=len(chunks),
    )  # fmt: skip
    if drop_chunk:
        chunks.clear()
    manifest = Manifest(version=version, published_at="2026-11-30T00:00:00.000Z", publisher="t", lists=[info])
    return Candidate(manifest, chunks, offset)


def test_the_newest_good_version_is_swapped_in_and_a_broken_newer_one_skipped() -> None:
    """Of v1, v2 (good) and v3 (missing chunk), v2 is built, v3 skipped; an older version never returns."""
    swaps: list[str] = []
    follower = WatchlistFollower(
        KafkaSettings(), "t", on_swap=lambda automaton, _swap: swaps.append(automaton.version)
    )
    v1, v2 = candidate(["Alpha Corp"], 1), candidate(["Alpha Corp", "Beta Corp"], 2)
    v3 = candidate(["Gamma Corp"], 3, drop_chunk=True)
    follower._take([v1, v2, v3])
    assert follower.ready
    assert swaps == [v2.version]
    assert [s.version for s in follower.skipped] == [v3.version]
    assert "missing" in follower.skipped[0].reason
    follower._take([v1])  # an older offset than the current version's: ignored
    assert swaps == [v2.version]
    follower._take([candidate(["Alpha Corp", "Beta Corp", "Delta Corp"], 4)])
    assert len(swaps) == 2
    assert follower.current is not None
    assert follower.current.name_count == 3
