"""The worker's running totals and its periodic one-line status (events/s, counts per output, lag)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer

from streams.metrics.lag import total_lag

log = logging.getLogger(__name__)


@dataclass
class Totals:
    """Counts since start: events per output kind, batches, transactions aborted, batches retried."""

    kinds: Sequence[str]
    counts: dict[str, int] = field(default_factory=dict)
    events: int = 0
    batches: int = 0
    aborted: int = 0
    first_batch_at: float | None = None
    """When the first batch was consumed (monotonic clock): the busy time starts there."""
    last_batch_at: float | None = None
    """When the last batch was committed."""

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.kinds, 0)

    def add(self, counts: Mapping[str, int], events: int, *, at: float) -> None:
        """Count one batch committed at ``at`` (monotonic clock)."""
        for kind, n in counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        self.events += events
        self.batches += 1
        self.last_batch_at = at

    @property
    def busy_seconds(self) -> float:
        """Seconds from the first batch consumed to the last one committed."""
        if self.first_batch_at is None or self.last_batch_at is None:
            return 0.0
        return self.last_batch_at - self.first_batch_at

    @property
    def events_per_second(self) -> float:
        """Throughput while busy (startup, group joins and idle time at the end excluded)."""
        busy = self.busy_seconds
        return self.events / busy if busy > 0 else 0.0

    def describe(self) -> str:
        """``cleared 9,800, blocked 150, dead-lettered 50``."""
        return ", ".join(f"{kind} {n:,}" for kind, n in self.counts.items())


class StatusLine:
    """Logs one status line every ``interval`` seconds (0 turns it off)."""

    def __init__(
        self, totals: Totals, interval: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.totals = totals
        self.interval = interval
        self._clock = clock
        self._last_at = clock()
        self._last_events = 0

    def due(self) -> bool:
        """Whether a status line is due."""
        return self.interval > 0 and self._clock() - self._last_at >= self.interval

    def line(self, lag: int | None) -> str:
        """The status line, and the rate window restarts."""
        now = self._clock()
        elapsed = max(now - self._last_at, 1e-9)
        rate = (self.totals.events - self._last_events) / elapsed
        self._last_at, self._last_events = now, self.totals.events
        lag_text = "unknown" if lag is None else f"{lag:,}"
        return (
            f"status: {rate:,.0f} events/s; {self.totals.describe()}; lag {lag_text}; "
            f"{self.totals.batches:,} batches, {self.totals.aborted:,} aborted"
        )

    def summary(self) -> str:
        """The closing line: totals and the rate from the first batch to the last."""
        totals = self.totals
        return (
            f"processed {totals.events:,} events in {totals.busy_seconds:,.2f} s from the first batch to the "
            f"last ({totals.events_per_second:,.0f} events/s): {totals.describe()}; "
            f"{totals.batches:,} batches, {totals.aborted:,} aborted"
        )

    def report(self, consumer: Consumer) -> None:
        """Log the status line if it is due; after a window without events its lag is asked of the broker."""
        if self.due():
            idle = self.totals.events == self._last_events
            log.info("%s", self.line(total_lag(consumer, fresh=idle)))
