"""Live counts of a screening engine, as its web view shows them: JSON and a small self-refreshing page.

Counts are of *delivered* batches: a batch is counted once all its outputs were acknowledged by the
broker, so the numbers never run ahead of what readers of the output topics can see. After a crash
the batches repeated by the next worker are counted again there (at-least-once).
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from matchers.screening import BatchResult
from matchers.watchlist import Watchlist
from schemas.records import Verdict, timestamp
from streams.outputs import counts as batch_counts
from streams.status import Totals

KINDS: Final = tuple(verdict.count_name for verdict in Verdict)


def list_summary(watchlists: Sequence[Watchlist]) -> list[dict[str, Any]]:
    """One entry per loaded list: id, entities, names and where it came from."""
    return [
        {"list": wl.list_id, "entities": len(wl.entities), "names": wl.name_count, "source": wl.source}
        for wl in watchlists
    ]


@dataclass
class LiveCounts:
    """Counts since start: screened events per verdict, hits per list, batches; plus what was loaded."""

    watchlist_version: str
    watchlists: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    """Fixed facts shown first (engine, group, topics, guarantee)."""
    clock: Callable[[], float] = time.monotonic
    totals: Totals = field(default_factory=lambda: Totals(KINDS))
    hits_by_list: Counter[str] = field(default_factory=Counter)
    started_at: str = field(default_factory=timestamp)
    last_batch_at: str | None = None

    def batch_started(self) -> None:
        """Note that a batch is being screened (the busy time starts with the first one)."""
        if self.totals.first_batch_at is None:
            self.totals.first_batch_at = self.clock()

    def record(self, result: BatchResult) -> None:
        """Count one batch whose outputs were all delivered."""
        self.batch_started()
        counts = batch_counts(result)
        self.totals.add(counts, len(result.verdicts), at=self.clock())
        for hits in result.hits.values():
            self.hits_by_list.update(hit.list_id for hit in hits)
        self.last_batch_at = result.screened_at or timestamp()

    @property
    def screened(self) -> int:
        """Events screened and delivered."""
        return self.totals.events

    def snapshot(self) -> dict[str, Any]:
        """Everything, as a JSON-ready mapping (the web view's ``/txscreen/status/``)."""
        counts = self.totals.counts
        return {
            **self.labels,
            "watchlist_version": self.watchlist_version,
            "watchlists": self.watchlists,
            "screened": self.totals.events,
            **{name.replace("-", "_"): counts[name] for name in KINDS},  # cleared, blocked, dead_lettered
            "hits_by_list": dict(sorted(self.hits_by_list.items())),
            "batches": self.totals.batches,
            "events_per_second": round(self.totals.events_per_second, 1),
            "started_at": self.started_at,
            "last_batch_at": self.last_batch_at,
        }


def _shown(value: Any) -> str:
    """A snapshot value as text: numbers with thousands separators, mappings as ``k: v``, lists joined."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_shown(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "–" if value is None else str(value)


def render_html(snapshot: dict[str, Any], *, refresh_seconds: int = 2, json_path: str = "status/") -> str:
    """A small page of the snapshot that reloads itself every ``refresh_seconds``."""
    rows = "".join(
        f"<tr><th>{html.escape(key.replace('_', ' '))}</th><td>{html.escape(_shown(value))}</td></tr>"
        for key, value in snapshot.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='{refresh_seconds}'><title>txscreen</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}th{text-align:left;padding-right:2em;"
        "font-weight:600}td,th{padding:.2em .5em;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>txscreen</h1><table>{rows}</table>"
        f"<p><a href='{html.escape(json_path)}'>JSON</a></p></body></html>"
    )
