"""Following the watchlist topic: the current automaton, rebuilt in the background when a version comes.

:class:`WatchlistFollower` reads the topic on a thread of its own. At start it reads to the end and
builds the newest version that builds (a newer one that does not is skipped); until one has been
built, :attr:`~WatchlistFollower.current` is None, :attr:`~WatchlistFollower.ready` is False and
:meth:`~WatchlistFollower.wait_ready` blocks: a worker consumes nothing (fail closed). Then it keeps
reading; each new version is decoded, checked and built on that thread while the worker goes on
screening with the old automaton, and only a complete automaton is handed over, by one reference
assignment and the ``on_swap`` callback. Engines read the reference once per batch, so a batch (one
transaction) is screened by one version, whose id every output carries.

A version that does not build is skipped: logged, counted in :attr:`~WatchlistFollower.skipped`,
and the last good automaton stays. The review service, the screening worker and the Faust engine
all use this one class.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer

from matchers.automaton import NameAutomaton
from schemas.errors import TxscreenError, WatchlistError
from streams.settings import FuzzyChoice, KafkaSettings
from streams.watchlists.topic import Candidate, Retired, Skipped, VersionScanner, key_of, reader, records

log = logging.getLogger(__name__)

#: Candidates held while the topic is read to its end at start (newest first tried; older ones are the
#: fall-backs when the newest do not build).
START_CANDIDATES = 3


@dataclass(frozen=True, slots=True)
class Swap:
    """One version handed over: which, which it replaced, and how long its build took (s)."""

    version: str
    previous: str | None
    build_seconds: float
    published_at: str


class WatchlistFollower:
    """The current automaton of a watchlist topic, kept up to date by a background thread."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        *,
        on_swap: Callable[[NameAutomaton, Swap], None] | None = None,
        poll_timeout: float = 0.2,
        fuzzy: FuzzyChoice | None = None,
    ) -> None:
        self.kafka = kafka
        self.fuzzy = fuzzy or FuzzyChoice()
        self.topic = topic
        self.on_swap = on_swap
        self.poll_timeout = poll_timeout
        self.current: NameAutomaton | None = None
        self.skipped: list[Skipped] = []
        self.swaps: list[Swap] = []
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="txscreen-watchlists", daemon=True)
        self._current_offset = -1

    @property
    def ready(self) -> bool:
        """Whether a version has been built (readiness: until then the worker consumes nothing)."""
        return self._ready.is_set()

    @property
    def skipped_total(self) -> int:
        """How many versions were skipped because they did not build."""
        return len(self.skipped)

    def start(self) -> WatchlistFollower:
        """Start following (returns self)."""
        self._thread.start()
        return self

    def wait_ready(
        self, timeout: float | None = None, *, stopping: Callable[[], bool] = lambda: False
    ) -> NameAutomaton | None:
        """Block until a version is built (its automaton), ``timeout`` passes or ``stopping()`` (None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = False
        while not self._ready.wait(0.2):
            if self.error is not None:
                raise self.error
            if stopping() or (deadline is not None and time.monotonic() > deadline):
                return None
            if not announced:
                log.warning(
                    "no usable watchlist version on %s yet: waiting, consuming nothing (fail closed)",
                    self.topic,
                )
                announced = True
        return self.current

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the thread ---

    def _run(self) -> None:
        try:
            consumer = reader(self.kafka, self.topic)
        except BaseException as exc:  # handed to wait_ready
            self.error = exc
            return
        try:
            self._follow(consumer)
        except BaseException as exc:
            log.exception("the watchlist follower of %s stopped", self.topic)
            self.error = exc
        finally:
            consumer.close()

    def _follow(self, consumer: Consumer) -> None:
        scanner = VersionScanner()
        waiting: list[Candidate] = []
        caught_up = False
        while not self._stop.is_set():
            at_end = False
            for message in records(consumer, self.poll_timeout):
                if message is None:
                    at_end = True
                    continue
                found = scanner.feed(key_of(message), message.value(), message.offset() or 0)
                if isinstance(found, Candidate):
                    waiting.append(found)
                    if not caught_up:
                        del waiting[:-START_CANDIDATES]
                elif isinstance(found, Skipped):
                    self._skip(found)
                elif isinstance(found, Retired):
                    waiting = [c for c in waiting if c.version != found.version]
            caught_up = caught_up or at_end
            if waiting and (caught_up or at_end):
                self._take(waiting)
                waiting = []

    def _take(self, waiting: list[Candidate]) -> None:
        """Build the newest candidate that builds and is newer than the current one; skip the failures."""
        for candidate in reversed(waiting):
            if candidate.offset <= self._current_offset:
                return
            if self.current is not None and candidate.version == self.current.version:
                self._current_offset = candidate.offset  # the same version published again
                return
            try:
                automaton = build_automaton(candidate, self.fuzzy)
            except (TxscreenError, MemoryError) as exc:
                self._skip(
                    Skipped(f"manifest:{candidate.version}", candidate.offset, str(exc), candidate.version)
                )
                continue
            self._swap(candidate, automaton)
            return

    def _swap(self, candidate: Candidate, automaton: NameAutomaton) -> None:
        previous = self.current.version if self.current is not None else None
        swap = Swap(automaton.version, previous, automaton.build_seconds, candidate.manifest.published_at)
        self.current = automaton
        self._current_offset = candidate.offset
        self.swaps.append(swap)
        if self.on_swap is not None:
            self.on_swap(automaton, swap)
        self._ready.set()
        log.info(
            "watchlist version %s (published %s by %s) built in %.2f s: %s",
            automaton.version,
            candidate.manifest.published_at,
            candidate.manifest.publisher,
            automaton.build_seconds,
            f"replaces {previous}" if previous else "the first version",
        )

    def _skip(self, skipped: Skipped) -> None:
        self.skipped.append(skipped)
        log.error(
            "skipped watchlist version %s; keeping %s",
            skipped.describe(),
            self.current.version if self.current is not None else "none (still waiting)",
        )


def wait_first_version(follower: WatchlistFollower) -> NameAutomaton | None:
    """Wait for the follower's first version; None when SIGTERM or SIGINT came meanwhile (a clean stop,
    nothing consumed). The handlers are only installed on the main thread, and restored after."""
    stopped: list[int] = []
    old: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, lambda signum, _frame: stopped.append(signum))
    try:
        return follower.wait_ready(stopping=lambda: bool(stopped))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def build_automaton(candidate: Candidate, fuzzy: FuzzyChoice | None = None) -> NameAutomaton:
    """Decode, check and build a candidate (WatchlistError when it does not), without the cyclic garbage
    collector walking the half-built lists; the result joins the frozen (never collected) generation.
    ``fuzzy``: the worker's ``--fuzzy`` / ``--fuzzy-lists`` (default: on, every list)."""
    choice = fuzzy or FuzzyChoice()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        lists = candidate.build()
        if not lists:
            raise WatchlistError("the version holds no list")
        automaton = NameAutomaton(lists, fuzzy=choice.on, fuzzy_lists=choice.lists)
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
    return automaton
