"""Choosing the reader for a SRC, loading several lists, the bundled defaults and the summary."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matchers.sources import (
    BUNDLED_OFAC,
    BUNDLED_UN,
    DEFAULT_SOURCES,
    describe,
    load_source,
    load_watchlists,
)
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.errors import WatchlistError

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data"
OFAC_EXTRACT = DATA / "ofac" / "extract"
UN_EXTRACT = DATA / "un" / "extract.xml"
LIST_YAML = DATA / "txscreen_list" / "valid.yaml"
LIST_JSON = DATA / "txscreen_list" / "valid.json"

BUNDLED_SHA256 = {
    BUNDLED_OFAC / "sdn.csv": "2a08fac873a3be0b92208f8874b2e7c138b7938190eeeb7ef991c15ba60e855b",
    BUNDLED_OFAC / "alt.csv": "82403d348e2209bf9533fbecdd3c0e1ae4e30fd75af8a8da99ea749a7f914949",
    BUNDLED_OFAC / "add.csv": "c98720815c4589ccd17f6f535b8f9facc6993a93b460e227d83a8bd804f93890",
    BUNDLED_OFAC / "sdn_comments.csv": "ca007d3fbb52990034c52318f9d108ae357fa18295d8743f7f2a3bb407191836",
    BUNDLED_UN: "66b392a4090868d2d39161e8d748efd39138377b0e6e60b7921aa67a4f99c8bf",
}


@pytest.mark.parametrize(
    ("src", "list_id"),
    [
        ("builtin", "us-eo-2020"),
        (str(OFAC_EXTRACT), "ofac-sdn"),
        (str(UN_EXTRACT), "un"),
        (str(LIST_YAML), "acme-internal"),
        (str(LIST_JSON), "acme-internal-json"),
    ],
)
def test_each_kind_of_source_is_dispatched(src: str, list_id: str) -> None:
    """builtin, an OFAC folder, a .xml file and a .yaml/.json file each reach their reader."""
    watchlist = load_source(src)
    assert watchlist.list_id == list_id
    assert watchlist.source == src


def test_suffixes_are_case_insensitive(tmp_path: Path) -> None:
    """A file named LIST.YML or LIST.XML is recognised like its lower-case form."""
    yml = tmp_path / "LIST.YML"
    shutil.copy(LIST_YAML, yml)
    xml = tmp_path / "UN.XML"
    shutil.copy(UN_EXTRACT, xml)
    assert load_source(str(yml)).list_id == "acme-internal"
    assert load_source(str(xml)).list_id == "un"


def test_missing_path_is_refused(tmp_path: Path) -> None:
    """A SRC that does not exist fails with one sentence naming it and the accepted kinds."""
    missing = str(tmp_path / "nowhere")
    expected = "no such file or folder; expected 'builtin', an OFAC folder"
    with pytest.raises(WatchlistError, match=expected) as caught:
        load_source(missing)
    assert caught.value.source == missing


def test_empty_source_is_refused() -> None:
    """An empty SRC string is refused rather than read as the current folder."""
    with pytest.raises(WatchlistError, match="the watchlist source is empty"):
        load_source("")


def test_unknown_file_kind_is_refused(tmp_path: Path) -> None:
    """A file with another suffix (e.g. a CSV given directly) is refused."""
    path = tmp_path / "sdn.csv"
    shutil.copy(OFAC_EXTRACT / "sdn.csv", path)
    with pytest.raises(WatchlistError, match="not a known watchlist file type"):
        load_source(str(path))


def test_folder_without_sdn_is_refused(tmp_path: Path) -> None:
    """A folder is only a source when it holds sdn.csv."""
    with pytest.raises(WatchlistError, match=r"the folder holds no sdn\.csv"):
        load_source(str(tmp_path))


@pytest.fixture
def unmarked_extract(tmp_path: Path) -> Path:
    """The OFAC extract with OFAC's end-of-file byte taken off each file, as a hand-made extract is."""
    folder = tmp_path / "hand-made"
    shutil.copytree(OFAC_EXTRACT, folder)
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes().removesuffix(b"\x1a"))
    return folder


def test_extract_prefix_waives_the_end_of_file_byte(unmarked_extract: Path) -> None:
    """``extract:FOLDER`` loads OFAC files without their end-of-file byte; the bare folder is refused."""
    watchlist = load_source(f"extract:{unmarked_extract}")
    assert (watchlist.list_id, len(watchlist.entities)) == ("ofac-sdn", 8)
    assert watchlist.source == f"extract:{unmarked_extract}"
    with pytest.raises(WatchlistError, match=r"sdn\.csv does not end with the \\x1a end-of-file byte"):
        load_source(str(unmarked_extract))


@pytest.mark.parametrize("target", [str(UN_EXTRACT), "nowhere", ""])
def test_extract_prefix_takes_only_an_ofac_folder(target: str) -> None:
    """``extract:`` before anything but a folder holding sdn.csv is refused with one sentence."""
    with pytest.raises(
        WatchlistError, match=r"an extract must be a folder holding an OFAC sdn\.csv"
    ) as caught:
        load_source(f"extract:{target}")
    assert caught.value.source == f"extract:{target}"


def test_load_watchlists_keeps_order() -> None:
    """Several sources load in the given order."""
    lists = load_watchlists(["builtin", str(UN_EXTRACT), str(OFAC_EXTRACT)])
    assert [wl.list_id for wl in lists] == ["us-eo-2020", "un", "ofac-sdn"]


def test_same_list_twice_is_refused(tmp_path: Path) -> None:
    """Two sources with the same list id (here two copies of the UN list) are refused."""
    copy = tmp_path / "copy.xml"
    shutil.copy(UN_EXTRACT, copy)
    with pytest.raises(WatchlistError, match="list 'un' is already loaded from") as caught:
        load_watchlists([str(UN_EXTRACT), str(copy)])
    assert caught.value.source == str(copy)


def test_no_source_is_refused() -> None:
    """Screening against no list at all is refused."""
    with pytest.raises(WatchlistError, match="no watchlist source given"):
        load_watchlists([])


def test_default_sources_are_bundled_absolute_paths() -> None:
    """The defaults are the built-in list plus the bundled OFAC folder and UN file, as absolute paths."""
    assert DEFAULT_SOURCES[0] == "builtin"
    for src in DEFAULT_SOURCES[1:]:
        assert Path(src).is_absolute()
        assert Path(src).exists()
    assert Path(DEFAULT_SOURCES[1]) == BUNDLED_OFAC
    assert Path(DEFAULT_SOURCES[2]) == BUNDLED_UN


def test_default_sources_load_and_describe() -> None:
    """The three default lists load together and describe() gives one line per list with its counts."""
    lists = load_watchlists(DEFAULT_SOURCES)
    assert [wl.list_id for wl in lists] == ["us-eo-2020", "ofac-sdn", "un"]
    assert describe(lists).splitlines() == [
        "us-eo-2020: 2 entities, 14 names (0 weak) from builtin",
        f"ofac-sdn: 8,976 entities, 23,321 names (2,441 weak) from {BUNDLED_OFAC}",
        f"un: 1,003 entities, 4,170 names (617 weak) from {BUNDLED_UN}",
    ]


def test_describe_warns_of_names_that_never_match() -> None:
    """Names without a letter or digit (they fold to nothing) are counted and quoted, and so are the
    entities that have no other name, which nothing can block; a list without such names gets no line."""
    entities = [
        Entity("t:1", "t", EntityType.INDIVIDUAL, (ListedName("Ann Lee"), ListedName(")"))),
        Entity("t:2", "t", EntityType.ENTITY, (ListedName("-"), ListedName("(", NameStrength.WEAK))),
        Entity("t:3", "t", EntityType.ENTITY, (ListedName("Δέλτα"), ListedName("3M"))),
    ]
    clean = Watchlist.build("c", "here", entities[2:])
    assert describe([Watchlist.build("t", "test", entities), clean]).splitlines() == [
        "t: 3 entities, 6 names (1 weak) from test",
        "t: warning: 3 names without a letter or digit never match (')' of t:1, '-' of t:2, '(' of t:2); "
        "1 entity has no other name: never blocked",
        "c: 1 entities, 2 names (0 weak) from here",
    ]


@pytest.mark.parametrize(("path", "digest"), BUNDLED_SHA256.items(), ids=lambda v: getattr(v, "name", ""))
def test_bundled_snapshots_are_unchanged(path: Path, digest: str) -> None:
    """The vendored list files are byte-for-byte the published ones (no line-ending or encoding rewrite)."""
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_sources_do_not_import_streams_or_kafka() -> None:
    """Importing matchers.sources loads neither streams/ nor a Kafka library (matchers never needs them)."""
    code = (
        "import sys, matchers.sources; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streams', 'confluent_kafka', 'faust')]; "
        "print(','.join(bad))"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
