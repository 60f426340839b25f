"""The publish guards: empty lists, shrinking lists, checksums; and how sources are hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from matchers.watchlist import Entity, EntityType, ListedName, Watchlist, watchlist_version
from streams.watchlists.codec import ListInfo, Manifest, chunks_of, manifest_key
from streams.watchlists.publish import PublishRefused, check_guards, parse_expectations, tombstones
from streams.watchlists.sources import source_sha256
from streams.watchlists.topic import Candidate, Retired, TopicHistory, VersionScanner


def listing(list_id: str, count: int) -> Watchlist:
    entities = [
        Entity(f"{list_id}:{n}", list_id, EntityType.ENTITY, (ListedName(f"Company {n}"),))
        for n in range(count)
    ]
    return Watchlist.build(list_id, list_id, entities)


def current(**counts: int) -> Manifest:
    infos = [
        ListInfo(
            list_id=list_id,
            source=list_id,
            source_date=None,
            sha256="",
            entities=n,
            names=n,
            content_hash="",
            chunks=1,
        )
        for list_id, n in counts.items()
    ]
    return Manifest(version="sha256:" + "a" * 64, published_at="", publisher="", lists=infos)


def test_an_empty_list_is_refused() -> None:
    """A list with no entity is never published, whatever the flags."""
    with pytest.raises(PublishRefused, match="no entity"):
        check_guards([listing("a", 0)], None, allow_shrink=True)


def test_a_drop_over_ten_percent_is_refused_unless_allowed() -> None:
    """89 of 100 entities is refused, 90 passes, and --allow-shrink lets 89 through."""
    with pytest.raises(PublishRefused, match="allow-shrink"):
        check_guards([listing("a", 89)], current(a=100), allow_shrink=False)
    check_guards([listing("a", 90)], current(a=100), allow_shrink=False)
    check_guards([listing("a", 89)], current(a=100), allow_shrink=True)


def test_a_list_left_out_counts_as_a_shrink() -> None:
    """Publishing without a list the current version has is a 100 % drop of that list."""
    with pytest.raises(PublishRefused, match="b would drop"):
        check_guards([listing("a", 100)], current(a=100, b=10), allow_shrink=False)


def test_checksums_are_sha256sum_of_a_file_and_of_a_folder_listing(tmp_path: Path) -> None:
    """A file's sha256 is sha256sum's; a folder's is the sha256 of its sorted sha256sum listing."""
    (tmp_path / "b.csv").write_bytes(b"bee\n")
    (tmp_path / "a.csv").write_bytes(b"ay\n")
    assert source_sha256(str(tmp_path / "a.csv")) == hashlib.sha256(b"ay\n").hexdigest()
    listing_text = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n"
        for name, body in (("a.csv", b"ay\n"), ("b.csv", b"bee\n"))
    )
    assert source_sha256(str(tmp_path)) == hashlib.sha256(listing_text.encode()).hexdigest()


def test_expectations_need_a_source_name_when_several_are_published() -> None:
    """``--expect-sha256 HEX`` applies to the only source; with two, SRC=HEX is required."""
    assert parse_expectations(["ABC"], ["x.yaml"]) == {"x.yaml": "abc"}
    assert parse_expectations(["y.yaml=sha256:ff"], ["x.yaml", "y.yaml"]) == {"y.yaml": "ff"}
    with pytest.raises(PublishRefused, match="SRC=HEX"):
        parse_expectations(["abc"], ["x.yaml", "y.yaml"])


def test_keep_tombstones_every_record_of_the_versions_beyond_it() -> None:
    """With --keep 2, a publish tombstones the manifests and chunks of all but the newest older version."""
    history = TopicHistory()
    for offset, count in enumerate((3, 4, 5)):
        wl = listing("a", count)
        version = watchlist_version([wl])
        info = ListInfo(
            list_id="a", source="a", source_date=None, sha256="", entities=count, names=count,
            content_hash=wl.content_hash, chunks=1,
        )  # fmt: skip
        manifest = Manifest(version=version, published_at="", publisher="", lists=[info])
        history.candidates.append(Candidate(manifest, dict(chunks_of(version, wl)), offset))
    oldest, middle, _newest = history.candidates
    dead = tombstones(history, 2, "sha256:" + "f" * 64)
    expected = {manifest_key(oldest.version), manifest_key(middle.version)}
    expected |= {*oldest.manifest.chunk_keys, *middle.manifest.chunk_keys}
    assert set(dead) == expected
    assert tombstones(history, 5, "sha256:" + "f" * 64) == []


def test_a_tombstoned_manifest_retires_its_version() -> None:
    """A manifest's tombstone (from --keep) makes the scanner report the version as retired."""
    scanner = VersionScanner()
    assert scanner.feed(manifest_key("sha256:" + "1" * 64), None, 7) == Retired("sha256:" + "1" * 64)
