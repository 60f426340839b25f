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
from collections.abc import Sequence
from typing import TextIO

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
            "a watchlist: 'builtin', a folder holding an OFAC sdn.csv, a UN XML file or a native "
            ".yaml/.json list (repeatable; default: builtin + the bundled OFAC SDN and UN snapshots)"
        ),
    )


def chosen_sources(watchlists: Sequence[str] | None) -> tuple[str, ...]:
    """The sources named on the command line, or the defaults."""
    return tuple(watchlists) if watchlists else DEFAULT_SOURCES


def load_automaton(watchlists: Sequence[str] | None, *, report: TextIO | None = sys.stderr) -> NameAutomaton:
    """Load the lists, build the automaton and report what was loaded; raises WatchlistError."""
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
