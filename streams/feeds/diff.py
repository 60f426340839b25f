"""What changed between the previous copy of a list and the new one, by entity id and content hash."""

from __future__ import annotations

from dataclasses import dataclass

from matchers.watchlist import Watchlist
from streams.watchlists.codec import changes


@dataclass(frozen=True, slots=True)
class ListChanges:
    """Entity ids added, removed and changed (:meth:`~matchers.watchlist.Entity.content_hash` differs)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        """True when the new copy lists the same entities with the same facts."""
        return not (self.added or self.removed or self.changed)

    def summary(self, shown: int = 5) -> str:
        """``2 added (a, b), 0 removed, 1 changed (c)``, naming up to ``shown`` ids of each."""
        parts = []
        for label, ids in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            more = f", and {len(ids) - shown:,} more" if len(ids) > shown else ""
            named = f" ({', '.join(ids[:shown])}{more})" if ids else ""
            parts.append(f"{len(ids):,} {label}{named}")
        return ", ".join(parts)


def list_changes(previous: Watchlist | None, new: Watchlist) -> ListChanges:
    """The changes from ``previous`` (``None``: every entity is added) to ``new`` (the same comparison as
    between two published versions, :func:`streams.watchlists.codec.changes`)."""
    found = changes([previous] if previous is not None else [], [new])
    return ListChanges(found.added, found.removed, found.changed)
