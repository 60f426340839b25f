"""Watchlist options shared by every command that screens (``screen``, ``check``, ``run``).

``--watchlist SRC`` is repeatable; without it the screener uses the built-in list plus the
bundled OFAC SDN and UN snapshots, and says so. Loading happens before anything is consumed:
a list that does not load stops the command with one clear sentence (fail closed).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Literal, TextIO

from matchers.automaton import NameAutomaton
from matchers.sources import DEFAULT_SOURCES, describe, load_watchlists

log = logging.getLogger(__name__)


def add_watchlist_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--watchlist SRC`` option."""
    parser.add_argument(
        "--watchlist",
        dest="watchlists",
        metavar="SRC",
        action="append",
        default=None,
        help=(
            "a watchlist: 'builtin', a folder holding an OFAC sdn.csv ('extract:FOLDER' for a hand-made "
            "extract without OFAC's end-of-file byte), a UN XML file or a native .yaml/.json list "
            "(repeatable; else TXSCREEN_WATCHLIST, ';'-separated; default: builtin + the bundled OFAC SDN "
            "and UN snapshots)"
        ),
    )


#: Environment variable naming watchlist sources when no ``--watchlist`` is given (``;``-separated).
WATCHLIST_ENV = "TXSCREEN_WATCHLIST"


def sources_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The sources listed in ``TXSCREEN_WATCHLIST`` (separated by ``;``), if any."""
    return tuple(part.strip() for part in environ.get(WATCHLIST_ENV, "").split(";") if part.strip())


def chosen_sources(watchlists: Sequence[str] | None) -> tuple[str, ...]:
    """The sources named on the command line, or the defaults."""
    return tuple(watchlists) if watchlists else DEFAULT_SOURCES


def load_automaton(
    watchlists: Sequence[str] | None,
    *,
    report: TextIO | Literal["stderr"] | None = "stderr",
    environ: Mapping[str, str] | None = None,
) -> NameAutomaton:
    """Load the lists (flags, else ``TXSCREEN_WATCHLIST`` in ``environ``, else the defaults) and build the
    automaton, reporting what was loaded (on the current ``sys.stderr`` by default, ``None`` for silence);
    raises WatchlistError."""
    if report == "stderr":
        report = sys.stderr
    if not watchlists and environ is not None:
        watchlists = sources_from_env(environ)
    sources = chosen_sources(watchlists)
    if report is not None and not watchlists:
        print(
            "txscreen: no --watchlist given: using the built-in list and the bundled OFAC SDN and UN "
            "snapshots",
            file=report,
        )
    automaton = NameAutomaton(load_watchlists(sources))
    if report is not None:
        print(describe(automaton.watchlists), file=report)
        print(
            f"txscreen: watchlist version {automaton.version}: {automaton.key_count:,} search keys "
            f"built in {automaton.build_seconds:.1f} s",
            file=report,
        )
    # The lists and the automaton live as long as the process: keep the garbage collector off them
    # (a full collection would otherwise walk every listed name again and again).
    gc.collect()
    gc.freeze()
    return automaton
