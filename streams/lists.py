"""Watchlist options shared by every command that screens (``screen``, ``check``, ``run``).

``--watchlist SRC`` is repeatable; without it the screener uses the built-in list plus the
bundled OFAC SDN and UN snapshots, and says so. Loading happens before anything is consumed:
a list that does not load stops the command with one clear sentence (fail closed).
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Sequence
from typing import Literal, TextIO

from matchers.automaton import NameAutomaton
from matchers.normalize import warm_tables
from matchers.sources import DEFAULT_SOURCES, describe
from matchers.watchlist import Watchlist
from schemas.errors import ConfigError
from streams.build_cache import load_or_build
from streams.settings import FuzzyChoice

log = logging.getLogger(__name__)


def chosen_sources(watchlists: Sequence[str] | None) -> tuple[str, ...]:
    """The sources named on the command line, or the defaults."""
    return tuple(watchlists) if watchlists else DEFAULT_SOURCES


def load_automaton(
    watchlists: Sequence[str] | None,
    *,
    fuzzy: FuzzyChoice | None = None,
    report: TextIO | Literal["stderr"] | None = "stderr",
) -> NameAutomaton:
    """Load the lists (the sources given, else the defaults) and build the automaton, reporting what was
    loaded (on the current ``sys.stderr`` by default, ``None`` for silence); raises WatchlistError.

    The CLI resolves the sources from the flags and ``TXSCREEN_WATCHLIST``
    (:func:`streams.settings.watchlist_sources`). ``fuzzy``: whether the fuzzy tier runs, for which
    lists (default: on, every list; a list id there that is not loaded is a ConfigError), and the build
    cache's folder (:mod:`streams.build_cache`; default: none)."""
    if report == "stderr":
        report = sys.stderr
    sources = chosen_sources(watchlists)
    if report is not None and not watchlists:
        print(
            "txscreen: no --watchlist given: using the built-in list and the bundled OFAC SDN and UN "
            "snapshots",
            file=report,
        )
    fuzzy = fuzzy or FuzzyChoice()

    def check(lists: Sequence[Watchlist]) -> None:
        unknown = sorted(set(fuzzy.lists or ()) - {wl.list_id for wl in lists})
        if unknown:
            known = ", ".join(wl.list_id for wl in lists)
            raise ConfigError(
                f"--fuzzy-lists names {', '.join(unknown)}, which is not a loaded list ({known})."
            )

    # Loading and building allocate hundreds of thousands of objects that live as long as the process:
    # the collector would walk them again at every threshold (measured ~7% of start-up). Garbage here is
    # freed by reference counting; the collection below runs once at the end.
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()
    try:
        loaded = load_or_build(sources, fuzzy.cache, fuzzy=fuzzy.on, fuzzy_lists=fuzzy.lists, check=check)
        warm_tables()  # the fold's tables (from the cache, or built now): not in the first batch's time
    finally:
        if collecting:
            gc.enable()
    seconds = time.perf_counter() - started
    automaton = loaded.automaton
    how = (
        f"loaded from the build cache in {seconds:.2f} s"
        if loaded.from_cache
        else f"built in {seconds:.2f} s ({loaded.note})"
    )
    if report is not None:
        print(describe(automaton.watchlists), file=report)
        print(
            f"txscreen: watchlist version {automaton.version}: {automaton.key_count:,} search keys; lists "
            f"and automaton {how}",
            file=report,
        )
        print(f"txscreen: matching: {automaton.engine.description}", file=report)
        print(fuzzy_report(automaton), file=report)
    log.info("watchlists and automaton %s", how)
    # The lists and the automaton live as long as the process: keep the garbage collector off them
    # (a full collection would otherwise walk every listed name again and again). A build leaves
    # garbage to collect first; what the cache reads back is all alive.
    if not loaded.from_cache:
        gc.collect()
    gc.freeze()
    return automaton


def fuzzy_report(automaton: NameAutomaton) -> str:
    """The build's line on the fuzzy tier: its coverage, and the names left exact-only."""
    if not automaton.fuzzy:
        return "txscreen: fuzzy tier off (--fuzzy off): exact matches only"
    scope = (
        "every list" if automaton.fuzzy_lists is None else "lists " + ", ".join(sorted(automaton.fuzzy_lists))
    )
    return (
        f"txscreen: fuzzy tier on ({scope}): {automaton.fuzzy_name_count:,} of {automaton.name_count:,} "
        f"names ({automaton.fuzzy_coverage:.1%}) fuzzy-match within 1-2 edits; "
        f"{automaton.fuzzy_frequent_count:,} "
        f"names of 9 letters or more stay exact-only (every cut leaves an anchor too common in ordinary "
        f"traffic); {automaton.anchor_count:,} anchors"
    )
