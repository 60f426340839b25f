"""The lists the review service uses, as one value swapped whole when a new version is built.

The service reads the lists for three things: the listed names of a case's hit entities (the
console's case page), the entities' content hashes (an allowlist entry records its entity's hash,
and is shown void once the hash differs), and the version (recorded in each allowlist decision).
With ``--watchlist-topic`` each new version replaces the value by one reference assignment, so a
request reads one version's names, hashes and id together.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from matchers.allowlist import entity_hashes
from matchers.watchlist import Entity, Watchlist


@dataclass(frozen=True, slots=True)
class ServiceLists:
    """One list version as the review service uses it."""

    version: str
    watchlists: tuple[Watchlist, ...] = ()
    hashes: Mapping[str, str] = field(default_factory=dict)
    entities: Mapping[str, Entity] = field(default_factory=dict)
    loaded_at: float = 0.0
    """When the service loaded or built this version (Unix time)."""
    published_at: str | None = None
    """When the version was published to the watchlist topic (RFC 3339), None for ``--watchlist`` files."""

    @staticmethod
    def of(
        version: str, watchlists: tuple[Watchlist, ...], *, published_at: str | None = None
    ) -> ServiceLists:
        """The service's view of ``watchlists`` (version ``version``), loaded now."""
        return ServiceLists(
            version,
            watchlists,
            entity_hashes(watchlists),
            {e.id: e for wl in watchlists for e in wl.entities},
            time.time(),
            published_at,
        )
