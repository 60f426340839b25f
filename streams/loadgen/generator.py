"""``txscreen loadgen``: realistic payment events at a target rate, to the input topic or to JSON Lines.

Events come from :class:`streams.loadgen.synthetic.EventFactory` over the loaded watchlists (``--watchlist``,
else ``TXSCREEN_WATCHLIST``, else the defaults): multilingual parties, about 550 bytes each, a
``--listed-share`` carrying a listed name in one of the spellings the policy covers, and a
``--malformed-share`` of broken inputs (drawn first: the listed share applies to the rest).

Fast enough to outpace the screener: a pool of ``--pool`` events is generated before the clock
starts; the stream is that pool, then the pool again under new event ids (``pay-<n>``, the n-th
event), so every event id is unique and the bytes, the shares and the screening cost per event stay
those of fresh events (the screening core keeps no per-text cache). Deterministic for a ``--seed``.

To Kafka, each record's key is its event id (malformed ones get the id their position would have),
so keys spread over the partitions; its timestamp (CreateTime) is the wall clock at the ``produce``
call, which latency measurements take as the moment the event was produced; ``--produced-at-header``
also adds that instant in nanoseconds as header ``txscreen-produced-at``. The producer is txscreen's
plain one (idempotent, acks=all, the throughput tuning of :mod:`streams.kafka.clients`, raw ``-X`` options).

``--rate`` paces the stream with a token bucket (accurate over seconds: sleeping too long is paid
back by the next chunks); without it, events go as fast as they can. ``--count`` or ``--duration``
ends the run (the first reached); with neither it runs until interrupted. A progress bar shows on
stderr when it is a terminal; the closing summary always goes to stderr.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol, TextIO

from streams.headers import PRODUCED_AT
from streams.progress import ProgressBar

if TYPE_CHECKING:
    from streams.loadgen.synthetic import EventFactory

PRODUCED_AT_HEADER: Final = PRODUCED_AT
"""Optional header: when the record was produced, nanoseconds since the epoch, as decimal text."""
DEFAULT_POOL: Final = 20_000
#: Events per chunk when there is no rate to follow (big enough to amortize the per-chunk work).
FULL_SPEED_CHUNK: Final = 2000
#: With a rate, a chunk is about this many seconds of events (smooth pacing, cheap bookkeeping).
CHUNK_SECONDS: Final = 0.01
FLUSH_TIMEOUT: Final = 60.0
_ID_PREFIX: Final = b'{"id":"'
_ID_END: Final = len(_ID_PREFIX) + len(b"pay-0000000000")

#: (key, value) pairs, in order.
Chunk = list[tuple[bytes, bytes]]
Clock = Callable[[], float]
Sleep = Callable[[float], None]


def event_key(index: int) -> bytes:
    """The event id of the ``index``-th event (0-based) as key bytes: ``pay-0000000001`` for the first."""
    return b"pay-%010d" % (index + 1)


class TokenBucket:
    """Lets ``rate`` events a second through on average, with bursts of at most ``burst`` events.

    ``take(n)`` returns once ``n`` tokens were taken. Tokens may go negative (a debt slept off), and
    time slept past the debt is credited back, so the average rate stays exact over any span longer
    than a few chunks however coarse ``sleep`` is.
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()

    def take(self, n: int) -> None:
        """Take ``n`` tokens, sleeping while the bucket is in debt."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= n
        if self._tokens < 0:
            self._sleep(-self._tokens / self.rate)


class EventSource:
    """Keyed raw events in chunks: a pregenerated pool, then the pool again under new event ids."""

    def __init__(self, factory: EventFactory, pool: int) -> None:
        """Draw ``pool`` events from a fresh ``factory`` (its ids must start at ``pay-0000000001``)."""
        if pool < 1:
            raise ValueError("the pool must hold at least one event")
        if factory.count:
            raise ValueError("the factory must be fresh: event ids are numbered from its first event")
        self._tails: list[bytes | None] = []  # the bytes after the id of a well-formed event
        self._whole: list[bytes] = []
        self._kind: list[int] = []  # 0 clean, 1 listed, 2 malformed
        for i in range(pool):
            raw: bytes = factory.raw()
            key = event_key(i)
            well_formed = raw.startswith(_ID_PREFIX) and raw[len(_ID_PREFIX) : _ID_END] == key
            self._tails.append(raw[_ID_END:] if well_formed else None)
            self._whole.append(raw)
            self._kind.append(2 if not well_formed else int(key.decode() in factory.planted))
        self.pool = pool
        self.produced = 0
        self.listed = 0
        self.malformed = 0

    def chunk(self, n: int) -> Chunk:
        """The next ``n`` events as (key, value) pairs."""
        out: Chunk = []
        append = out.append
        tails, whole, kind, pool = self._tails, self._whole, self._kind, self.pool
        listed = malformed = 0
        for i in range(self.produced, self.produced + n):
            j = i % pool
            key = b"pay-%010d" % (i + 1)
            tail = tails[j]
            append((key, _ID_PREFIX + key + tail if tail is not None else whole[j]))
            k = kind[j]
            if k:
                if k == 1:
                    listed += 1
                else:
                    malformed += 1
        self.produced += n
        self.listed += listed
        self.malformed += malformed
        return out


class Sink(Protocol):
    """Where generated events go."""

    def send(self, chunk: Chunk) -> None:
        """Hand over one chunk."""

    def close(self) -> None:
        """Deliver everything handed over (BrokerError when that fails)."""


class FileSink:
    """JSON Lines: one value a line (keys are not written; the event id is in the event)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def send(self, chunk: Chunk) -> None:
        self.stream.write(b"\n".join(value for _, value in chunk) + b"\n")

    def close(self) -> None:
        self.stream.flush()


class LoadProgress:
    """The shared progress bar, measuring events sent against ``--count`` or ``--duration``, and the rate."""

    def __init__(
        self, stream: TextIO, *, count: int | None, duration: float | None, interval: float = 0.25
    ) -> None:
        self.count = count
        self.duration = duration
        self._bar = ProgressBar(stream, interval=interval)

    def update(self, done: int, elapsed: float, *, final: bool = False) -> None:
        """Redraw if due: share done, events, rate (always when ``final``, which ends the line)."""
        if not final and not self._bar.due(elapsed):
            return
        shares = []
        if self.count:
            shares.append(done / self.count)
        if self.duration:
            shares.append(elapsed / self.duration)
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{done:,} events, {rate:,.0f}/s, {elapsed:.1f} s"
        self._bar.draw(max(shares) if shares else None, text, elapsed, final=final)

    def close(self) -> None:
        """End the bar's line."""
        self._bar.close()


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How much to generate and how fast."""

    rate: float | None = None
    """Events per second (token bucket); None means as fast as possible."""
    count: int | None = None
    """Stop after this many events."""
    duration: float | None = None
    """Stop after this many seconds."""

    def chunk_size(self) -> int:
        """Events per chunk: about 10 ms of events at the rate, else a full-speed chunk."""
        if self.rate is None:
            return FULL_SPEED_CHUNK
        return max(1, min(FULL_SPEED_CHUNK, int(self.rate * CHUNK_SECONDS)))


@dataclass(frozen=True, slots=True)
class Generated:
    """What a run produced: events (listed and malformed among them), seconds, and whether it was cut."""

    events: int
    listed: int
    malformed: int
    seconds: float
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Events per second over the whole run (delivery included)."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def generate(
    source: EventSource,
    sink: Sink,
    plan: LoadPlan,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: LoadProgress | None = None,
) -> Generated:
    """Send events from ``source`` to ``sink`` following ``plan``; the time includes the final delivery."""
    chunk = plan.chunk_size()
    bucket = TokenBucket(plan.rate, chunk, clock=clock, sleep=sleep) if plan.rate else None
    start = clock()
    sent = 0
    interrupted = False
    try:
        while plan.count is None or sent < plan.count:
            if plan.duration is not None and clock() - start >= plan.duration:
                break
            n = chunk if plan.count is None else min(chunk, plan.count - sent)
            if bucket is not None:
                bucket.take(n)
            sink.send(source.chunk(n))
            sent += n
            if progress is not None:
                progress.update(sent, clock() - start)
    except KeyboardInterrupt:
        interrupted = True
    sink.close()
    seconds = clock() - start
    if progress is not None:
        progress.update(sent, seconds, final=True)
    return Generated(sent, source.listed, source.malformed, seconds, interrupted)
