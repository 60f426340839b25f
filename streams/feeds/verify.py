"""Verifying a staged feed copy before it replaces the previous one.

A copy is accepted only when it loads with the reader ``--watchlist`` would use (so every check of
that reader applies: OFAC's end-of-file byte, well-formed XML, whole JSON lines…), holds at least one
entity, and has not lost more than ``max_shrink`` percent of the previous copy's entities. Lists do
shrink when parties are delisted, but by a few entries at a time; a large drop means a broken or
partial export, and a screener must not lose its names silently (fail closed). A previous copy that
no longer loads is reported and counts as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matchers.sources import load_source
from matchers.watchlist import Watchlist
from schemas.errors import WatchlistError


@dataclass(frozen=True, slots=True)
class Verified:
    """A staged copy that passed, and the previous copy it is compared with (``None`` when none loads)."""

    new: Watchlist
    previous: Watchlist | None
    previous_problem: str | None = None


def load_previous(target: Path) -> tuple[Watchlist | None, str | None]:
    """The installed copy, or ``None`` and why (absent, or the reason it does not load)."""
    if not target.exists():
        return None, None
    try:
        return load_source(str(target)), None
    except WatchlistError as exc:
        return None, str(exc)


def verify(staged: Path, target: Path, *, max_shrink: float) -> Verified:
    """Load ``staged`` and compare it with the copy at ``target``; WatchlistError names what is wrong."""
    new = load_source(str(staged))
    if not new.entities:
        raise WatchlistError("the downloaded list holds no entities", source=str(staged))
    previous, problem = load_previous(target)
    if previous is not None and previous.entities:
        before, after = len(previous.entities), len(new.entities)
        floor = before * (1 - max_shrink / 100)
        if after < floor:
            drop = 100 * (before - after) / before
            raise WatchlistError(
                f"the new copy has {after:,} entities, {drop:.0f}% fewer than the {before:,} of the previous "
                f"copy (more than the {max_shrink:g}% allowed by --max-shrink)",
                source=str(target),
            )
    return Verified(new, previous, problem)
