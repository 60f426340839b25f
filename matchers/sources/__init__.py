"""Watchlist sources: pick the reader for each ``SRC`` and load it into a :class:`Watchlist`.

A ``SRC`` is one of

* ``builtin`` — the list shipped in ``matchers/data/us-eo-2020.yaml`` (the 2020 US executive
  orders on ByteDance/TikTok and Tencent/WeChat);
* a folder holding ``sdn.csv`` — an OFAC SDN legacy CSV set (:mod:`matchers.sources.ofac`);
* ``extract:`` and such a folder — a hand-made OFAC extract, whose files need not end with OFAC's
  end-of-file byte;
* a ``.xml`` file, told apart by its root element: ``<CONSOLIDATED_LIST>`` — the UN Security Council
  Consolidated List (:mod:`matchers.sources.un`); ``<export>`` in the EU FSF namespace — the EU
  Financial Sanctions Files (:mod:`matchers.sources.eu_fsf`);
* a ``.ftm.json``, ``.jsonl`` or ``.ndjson`` file, or a ``.json`` file whose first line is a
  FollowTheMoney entity — an OpenSanctions export (:mod:`matchers.sources.opensanctions`);
* a ``.csv`` file starting ``Last Updated`` or any ``.xlsx`` file — the UK OFSI Consolidated List
  (:mod:`matchers.sources.uk_ofsi`);
* a ``.csv`` file starting ``fileGenerationDate;Entity_LogicalId`` — the EU FSF list's CSV export
  (:mod:`matchers.sources.eu_fsf_csv`);
* a ``.yaml``, ``.yml`` or ``.json`` file — txscreen's own format (:mod:`matchers.sources.txscreen_list`).

:data:`DEFAULT_SOURCES` is the built-in list plus the bundled OFAC and UN snapshots under
``matchers/data/``. Every failure is a :class:`~schemas.errors.WatchlistError`: a screener
that cannot load all of its lists does not start (fail closed).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from matchers.sources.eu_fsf import ROOT_TAG as EU_FSF_ROOT
from matchers.sources.eu_fsf import load_eu_fsf
from matchers.sources.eu_fsf_csv import is_eu_fsf_csv, load_eu_fsf_csv
from matchers.sources.ofac import EXTRACT_PREFIX, load_ofac
from matchers.sources.opensanctions import is_ftm_file, load_opensanctions
from matchers.sources.txscreen_list import YAML_SUFFIXES, load_txscreen_list
from matchers.sources.uk_ofsi import is_ofsi_csv, load_uk_ofsi
from matchers.sources.un import ROOT_TAG as UN_ROOT
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
    "a UN or EU FSF .xml file, an EU FSF .csv file, an OpenSanctions .ftm.json/.jsonl file, "
    "a UK OFSI .csv/.xlsx file or a .yaml/.yml/.json list"
)


def load_source(src: str) -> Watchlist:
    """Load one source: ``builtin``, an OFAC SDN folder (``extract:`` before it for a hand-made extract),
    a UN or EU FSF XML file, an EU FSF CSV file, an OpenSanctions FtM file, a UK OFSI CSV/XLSX file or a
    txscreen list."""
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
    return _load_file(path, src)


def _load_file(path: Path, src: str) -> Watchlist:
    """Pick the reader for one list file by its suffix and, where suffixes are shared, its content."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return _load_xml(path, src)
    if is_ftm_file(path):
        return load_opensanctions(path, source=src)
    if suffix == ".xlsx" or (suffix == ".csv" and is_ofsi_csv(path)):
        return load_uk_ofsi(path, source=src)
    if suffix == ".csv" and is_eu_fsf_csv(path):
        return load_eu_fsf_csv(path, source=src)
    if suffix in LIST_SUFFIXES:
        return load_txscreen_list(path, source=src)
    raise WatchlistError(f"not a known watchlist file type; {EXPECTED}", source=src)


def _load_xml(path: Path, src: str) -> Watchlist:
    """Pick the XML reader by the root element's name (read from the first start tag only)."""
    root = ""
    try:
        with path.open("rb") as handle:
            for _, element in ET.iterparse(handle, events=("start",)):  # noqa: S314 - as the readers
                root = element.tag
                break
    except (ET.ParseError, OSError):
        return load_un(path, source=src)  # the UN reader names the parse or read error
    if root == EU_FSF_ROOT:
        return load_eu_fsf(path, source=src)
    if root == UN_ROOT:
        return load_un(path, source=src)
    message = f"root element <{root}> is neither the UN <{UN_ROOT}> nor the EU FSF <{EU_FSF_ROOT}>"
    raise WatchlistError(message, source=src)


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
    """One line per list: id, entities, names (how many weak) and where it came from; then, for a list
    with names that hold no letter or digit (they fold to nothing, so they never match), a line that
    counts them, names a few, and counts the entities none of whose names can match (never blocked)."""
    lines = []
    for wl in watchlists:
        weak = sum(1 for e in wl.entities for n in e.names if n.strength is NameStrength.WEAK)
        counts = f"{len(wl.entities):,} entities, {wl.name_count:,} names ({weak:,} weak)"
        lines.append(f"{wl.list_id}: {counts} from {wl.source}")
        unmatchable = [(e, n.text) for e in wl.entities for n in e.names if not _has_letter_or_digit(n.text)]
        if unmatchable:
            shown = ", ".join(f"{text!r} of {entity.id}" for entity, text in unmatchable[:UNMATCHABLE_SHOWN])
            more = (
                f" and {len(unmatchable) - UNMATCHABLE_SHOWN:,} more"
                if len(unmatchable) > UNMATCHABLE_SHOWN
                else ""
            )
            never = sum(1 for e in wl.entities if not any(_has_letter_or_digit(n.text) for n in e.names))
            outcome = (
                f"{never:,} {'entity has' if never == 1 else 'entities have'} no other name: never blocked"
                if never
                else "each of their entities has another name"
            )
            lines.append(
                f"{wl.list_id}: warning: {len(unmatchable):,} names without a letter or digit never match "
                f"({shown}{more}); {outcome}"
            )
    return "\n".join(lines)


#: How many names without a letter or digit :func:`describe` quotes per list.
UNMATCHABLE_SHOWN = 3


def _has_letter_or_digit(text: str) -> bool:
    """Whether ``text`` holds a letter or digit of any script (a name without one folds to nothing)."""
    return text[:1].isalnum() or any(map(str.isalnum, text))  # most names: the first character
