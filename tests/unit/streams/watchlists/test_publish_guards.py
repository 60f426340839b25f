"""The publish guards: empty lists, shrinking lists, checksums; and how sources are hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from matchers.watchlist import Entity, EntityType, ListedName, Watchlist
from streams.watchlists.codec import ListInfo, Manifest
from streams.watchlists.publish import PublishRefused, check_guards, parse_expectations
from streams.watchlists.sources import source_sha256


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
