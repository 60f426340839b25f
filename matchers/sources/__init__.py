"""Watchlist sources: pick the reader for each ``SRC`` and load it into a :class:`Watchlist`.

A ``SRC`` is one of

* ``builtin`` — the list shipped in ``matchers/data/us-eo-2020.yaml`` (the 2020 US executive
  orders on ByteDance/TikTok and Tencent/WeChat);
* a folder holding ``sdn.csv`` — an OFAC SDN legacy CSV set (:mod:`matchers.sources.ofac`);
* ``extract:`` and such a folder — a hand-made OFAC extract, whose files need not end with OFAC's
  end-of-file byte;
* a ``.xml`` file — the UN Security Council Consolidated List (:mod:`matchers.sources.un`);
* a ``.yaml``, ``.yml`` or ``.json`` file — txscreen's own format (:mod:`matchers.sources.txscreen_list`).

:data:`DEFAULT_SOURCES` is the built-in list plus the bundled OFAC and UN snapshots under
``matchers/data/``. Every failure is a :class:`~schemas.errors.WatchlistError`: a screener
that cannot load all of its lists does not start (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matchers.sources.ofac import EXTRACT_PREFIX, load_ofac
from matchers.sources.txscreen_list import YAML_SUFFIXES, load_txscreen_list
from matchers.sources.un import load_un
from matchers.watchlist import NameStrength, Watchlist
from schemas.errors import WatchlistError

__all__ = [
    "BUILTIN",
    "DEFAULT_SOURCES",
    "describe",
    "load_source",
    "load_watchlists",
]

BUILTIN = "builtin"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUILTIN_PATH = DATA_DIR / "us-eo-2020.yaml"
BUNDLED_OFAC = DATA_DIR / "ofac-sdn-2021"
BUNDLED_UN = DATA_DIR / "un-consolidated-2026" / "consolidated.xml"
DEFAULT_SOURCES: tuple[str, ...] = (BUILTIN, str(BUNDLED_OFAC), str(BUNDLED_UN))

LIST_SUFFIXES = YAML_SUFFIXES | {".json"}
EXPECTED = (
    "expected 'builtin', an OFAC folder holding sdn.csv (extract:FOLDER for a hand-made extract), "
    "a UN .xml file or a .yaml/.yml/.json list"
)


def load_source(src: str) -> Watchlist:
    """Load one source: ``builtin``, an OFAC SDN folder (``extract:`` before it for a hand-made extract),
    a UN XML file or a txscreen list (YAML/JSON) file."""
    if src == BUILTIN:
        return load_txscreen_list(BUILTIN_PATH, source=BUILTIN)
    if src.startswith(EXTRACT_PREFIX):
        folder = src.removeprefix(EXTRACT_PREFIX)
        if not folder or not (Path(folder) / "sdn.csv").is_file():
            raise WatchlistError("an extract must be a folder holding an OFAC sdn.csv", source=src)
        return load_ofac(folder, source=src, extract=True)
    if not src:
        raise WatchlistError(f"the watchlist source is empty; {EXPECTED}")
    path = Path(src)
    if not path.exists():
        raise WatchlistError(f"no such file or folder; {EXPECTED}", source=src)
    if path.is_dir():
        if not (path / "sdn.csv").is_file():
            raise WatchlistError(f"the folder holds no sdn.csv; {EXPECTED}", source=src)
        return load_ofac(path, source=src)
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return load_un(path, source=src)
    if suffix in LIST_SUFFIXES:
        return load_txscreen_list(path, source=src)
    raise WatchlistError(f"not a known watchlist file type; {EXPECTED}", source=src)


def load_watchlists(srcs: Sequence[str]) -> tuple[Watchlist, ...]:
    """Load every source in order; at least one is needed and no list id may be loaded twice."""
    if not srcs:
        raise WatchlistError(f"no watchlist source given; {EXPECTED}")
    loaded: dict[str, Watchlist] = {}
    for src in srcs:
        watchlist = load_source(src)
        earlier = loaded.get(watchlist.list_id)
        if earlier is not None:
            message = f"list {watchlist.list_id!r} is already loaded from {earlier.source!r}"
            raise WatchlistError(message, source=src)
        loaded[watchlist.list_id] = watchlist
    return tuple(loaded.values())


def describe(watchlists: Sequence[Watchlist]) -> str:
    """One line per list: id, entities, names (how many weak) and where it came from."""
    lines = []
    for wl in watchlists:
        weak = sum(1 for e in wl.entities for n in e.names if n.strength is NameStrength.WEAK)
        counts = f"{len(wl.entities):,} entities, {wl.name_count:,} names ({weak:,} weak)"
        lines.append(f"{wl.list_id}: {counts} from {wl.source}")
    return "\n".join(lines)
