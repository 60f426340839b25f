"""Where a worker's loop spends its time, per phase of a batch: read with ``txscreen -v run``.

The loop (:mod:`streams.worker.batch_loop`) adds the seconds of each phase of each batch:

* ``consume`` — ``consume`` calls: waiting for the batch (``--batch-timeout``), or for the first event;
* ``screen`` — the transform (screening and building the output records; nothing for the copier);
* ``settle`` — waiting for the commit in flight (the previous batch's) on the main thread;
* ``top-up`` — ``--latency low``: consuming and screening what arrived during that wait;
* ``produce`` — ``begin_transaction`` and the ``produce`` calls;
* ``offsets`` — ``send_offsets_to_transaction`` (on the commit thread);
* ``commit`` — ``commit_transaction`` (on the commit thread): the flush of the records, then ``EndTxn``;
* ``consumed→committed`` — a batch's whole stay: from its consume to the end of its commit;
* ``age oldest`` / ``age newest`` — at its consume, how old the batch's oldest and newest message are (this
  clock minus the record timestamp: with ``LogAppendTime`` input, the time since the broker appended it;
  the newest one's age is the fetch delay);
* ``gc`` / ``gc full`` — each pause of Python's garbage collector (young generations / full), in any
  thread (not per batch).

At DEBUG, each batch logs one line of its phases, and the worker logs the summary (count, mean,
p50, p99, max and total per phase) when it stops. Keeping the figures costs a few clock readings
per batch; they are kept only when DEBUG is on.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

log = logging.getLogger(__name__)

PHASES = (
    "consume",
    "screen",
    "settle",
    "top-up",
    "produce",
    "offsets",
    "commit",
    "consumed→committed",
    "age oldest",
    "age newest",
    "gc",
    "gc full",
)


class LoopTimings:
    """Seconds per phase per batch (thread-safe: the commit thread adds its own)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = log.isEnabledFor(logging.DEBUG) if enabled is None else enabled
        self._seconds: dict[str, list[float]] = {phase: [] for phase in PHASES}
        self._lock = threading.Lock()
        self._gc_started = 0.0
        if self.enabled:
            gc.callbacks.append(self._on_gc)

    def close(self) -> None:
        """Stop timing the garbage collector."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        # No lock here: a collection may start inside add() while the lock is held.
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._seconds["gc full" if info["generation"] == 2 else "gc"].append(
                time.perf_counter() - self._gc_started
            )

    def add(self, phase: str, seconds: float) -> None:
        """Count ``seconds`` spent in ``phase`` by one batch."""
        if self.enabled:
            with self._lock:
                self._seconds[phase].append(seconds)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as one batch's ``name`` phase."""
        if not self.enabled:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def ages(self, messages: Sequence[Message]) -> None:
        """Count the age of a consumed batch's oldest and newest message (by their record timestamps)."""
        now_ms = time.time() * 1000
        stamps = [
            stamp for kind, stamp in (m.timestamp() for m in messages) if kind != TIMESTAMP_NOT_AVAILABLE
        ]
        if stamps:
            self.add("age oldest", (now_ms - min(stamps)) / 1000)
            self.add("age newest", (now_ms - max(stamps)) / 1000)

    def seconds(self, phase: str) -> list[float]:
        """The seconds of ``phase`` so far, one per batch that went through it."""
        with self._lock:
            return list(self._seconds[phase])

    def summary(self) -> str:
        """One line per phase: batches, mean, p50, p99, max (ms) and the total (s)."""
        lines = ["phase               batches   mean ms    p50 ms    p99 ms    max ms   total s"]
        for phase in PHASES:
            values = sorted(self.seconds(phase))
            if not values:
                continue
            n = len(values)
            mean, p50, p99 = sum(values) / n, values[n // 2], values[min(n - 1, int(n * 0.99))]
            lines.append(
                f"{phase:<18} {n:>8} {mean * 1e3:>9.1f} {p50 * 1e3:>9.1f} {p99 * 1e3:>9.1f} "
                f"{values[-1] * 1e3:>9.1f} {sum(values):>9.2f}"
            )
        return "\n".join(lines)
