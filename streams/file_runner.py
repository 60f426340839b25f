"""Screen a JSON Lines file, or stdin, into ``cleared.jsonl``, ``blocked.jsonl`` and ``dlq.jsonl``.

The embedded runner for people without a broker: it moves bytes between files and
:func:`matchers.screening.screen_batch`, nothing more.

* **Bytes in, bytes out.** The input is read in binary mode, 256 KiB at a time and never whole (memory
  stays constant however large the input), and split into lines in C. Only the line terminator
  (``\\n`` or ``\\r\\n``) is stripped; the core decodes, so a line that is not UTF-8 becomes a dead
  letter.
* **Blank lines are skipped**, not dead-lettered: a line that is empty or only ASCII whitespace is
  counted as ``skipped`` (JSON Lines files often end with a newline, and editors add blank lines).
  Any other line that is not a payment event is dead-lettered with its file and line number.
* **A line longer than the event size limit** is never held whole: the runner reads past it and
  dead-letters it with its true size; the dead letter's ``raw`` keeps its first ``max_event_bytes``
  bytes (a file without any newline cannot exhaust memory).
* **Outputs** are JSON Lines ending in ``\\n``: a cleared line is the input line byte for byte (its
  terminator written as ``\\n``), a blocked line is the blocked record, a dlq line the dead letter.
  They are written to ``DIR/<name>.jsonl.partial``, flushed after every batch, and renamed to
  ``DIR/<name>.jsonl`` only when the whole input has been screened. A run that fails or is
  interrupted leaves the ``.partial`` files (and any earlier complete outputs) as they are, so a
  half-written output never passes for a finished one.
* **Two threads** (``--threads 2``, the default, with the native engine): while one batch is finished
  (its full path, its output records, the writes), the next is read and triaged on a second thread;
  the native triage runs without the GIL, so the two overlap on two cores. The outputs are the same,
  in the same order, as with ``--threads 1``.
* **Progress**: given a text stream and a regular input file, a one-line bar shows the bytes
  screened of the file's size and the events per second (the CLI passes stderr when it is a terminal).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Final, TextIO

from matchers.allowlist import apply_allowlist, parse_time
from matchers.automaton import NameAutomaton
from matchers.screening import Triaged, triage_batch
from schemas.errors import ConfigError, TxscreenError
from schemas.events import MAX_EVENT_BYTES
from schemas.records import Verdict
from streams.allowlist import Allowlist
from streams.outputs import MessageAdapter, OutputRecord, output_records, screen_messages
from streams.progress import ProgressBar

log = logging.getLogger(__name__)

#: The input name that means standard input.
STDIN: Final = "-"
#: Lines screened per call of the core (``--batch-size``, ``TXSCREEN_BATCH_SIZE``).
DEFAULT_BATCH_SIZE: Final = 2000
#: Threads screening a file (``--threads``, ``TXSCREEN_THREADS``): the triage's and the rest's.
DEFAULT_THREADS: Final = 2
#: Suffix of an output while it is being written.
PARTIAL_SUFFIX: Final = ".partial"
#: Bytes read from the input at a time (below the usual event size limit, so lines are rarely measured).
_CHUNK: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class FileRunSettings:
    """What to screen and where to write it; built once by the CLI, passed down unchanged."""

    #: A JSON Lines file, or ``-`` for standard input (positional ``INPUT``).
    input: str
    #: The folder for the three outputs, created if missing (``--out``, ``TXSCREEN_OUT_DIR``).
    out_dir: Path
    #: Lines per batch (``--batch-size``, ``TXSCREEN_BATCH_SIZE``; default 2,000).
    batch_size: int = DEFAULT_BATCH_SIZE
    #: Longer lines are dead-lettered unread (``--max-event-bytes``, ``TXSCREEN_MAX_EVENT_BYTES``; 1 MiB).
    max_event_bytes: int = MAX_EVENT_BYTES
    #: 2: the native triage of the next batch runs on a second thread while this one is finished; 1: one
    #: thread does everything (``--threads``, ``TXSCREEN_THREADS``; the pure engine always uses one).
    threads: int = DEFAULT_THREADS

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"the batch size must be at least 1, got {self.batch_size}")
        if self.threads not in (1, 2):
            raise ConfigError(f"the thread count must be 1 or 2, got {self.threads}")
        if self.max_event_bytes < 1:
            raise ConfigError(f"the event size limit must be at least 1 byte, got {self.max_event_bytes}")


@dataclass(frozen=True, slots=True)
class Outputs:
    """The three output files of a run."""

    cleared: Path
    blocked: Path
    dlq: Path

    @classmethod
    def in_dir(cls, out_dir: Path) -> Outputs:
        """``cleared.jsonl``, ``blocked.jsonl`` and ``dlq.jsonl`` in ``out_dir``."""
        return cls(out_dir / "cleared.jsonl", out_dir / "blocked.jsonl", out_dir / "dlq.jsonl")

    def paths(self) -> tuple[Path, Path, Path]:
        """The three paths in verdict order: cleared, blocked, dead letters."""
        return (self.cleared, self.blocked, self.dlq)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did: ``read == cleared + blocked + dead_lettered + skipped``."""

    input: str
    outputs: Outputs
    read: int  # lines read, blank ones included
    cleared: int
    blocked: int
    dead_lettered: int
    skipped: int  # blank lines
    bytes_read: int
    elapsed_seconds: float
    watchlist_version: str

    @property
    def events(self) -> int:
        """Lines screened (every line read except the blank ones)."""
        return self.cleared + self.blocked + self.dead_lettered

    @property
    def events_per_second(self) -> float:
        """Screened lines per second of wall time, reading and writing included."""
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def check_input(name: str) -> None:
    """Fail with one sentence when ``name`` cannot be an input, before anything is loaded or read."""
    if name == STDIN:
        return
    path = Path(name)
    if not path.exists():
        raise ConfigError(f"the input file {name!r} does not exist")
    if path.is_dir():
        raise ConfigError(f"the input {name!r} is a folder, not a JSON Lines file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"the input file {name!r} is not readable")


class LineReader:
    """Splits a binary stream into lines a chunk at a time (C-speed ``bytes.split``, no per-line read).

    Lines come numbered from 1 in order, without their terminator (``\\n`` or ``\\r\\n``). A line longer
    than ``limit`` bytes is never held whole: its first ``limit`` bytes stand in for it and
    ``over_long[number]`` records its true size until the caller pops it.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        # read1 returns what a pipe holds instead of waiting for a full chunk
        self._read: Callable[[int], bytes] = getattr(stream, "read1", None) or stream.read
        self._limit = limit
        self.lines = 0
        self.bytes_read = 0
        self.over_long: dict[int, int] = {}

    def chunks(self) -> Iterator[list[bytes]]:
        """Runs of whole lines, in input order."""
        limit = self._limit
        carry = b""  # the unterminated end of the data read so far
        head: bytes | None = None  # the first bytes of an over-long line still being skipped
        size = 0  # bytes of that line seen so far
        last = b""  # the byte before the current chunk
        while chunk := self._read(_CHUNK):
            self.bytes_read += len(chunk)
            if head is not None:
                end = chunk.find(b"\n")
                if end < 0:
                    size, last = size + len(chunk), chunk[-1:]
                    continue
                before = chunk[end - 1 : end] if end else last
                yield [self._cut(head, size + end - (before == b"\r"))]
                head, chunk = None, chunk[end + 1 :]
            if chunk:
                last = chunk[-1:]
            data = carry + chunk if carry else chunk
            lines = data.split(b"\n")
            carry = lines.pop()
            if len(carry) > limit + 1:  # over the limit even if a "\r" comes next
                head, size, carry = carry[:limit], len(carry), b""
            if lines:
                if b"\r" in data:  # (a one-byte search is ~20x faster than looking for b"\r\n")
                    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
                yield self._whole(lines, len(data))
        if head is not None:
            yield [self._cut(head, size)]
        elif carry:  # the last line, without a terminator
            yield self._whole([carry], len(carry))

    def _whole(self, lines: list[bytes], span: int) -> list[bytes]:
        """Number a run of complete lines split from ``span`` bytes, cutting any over the limit."""
        first = self.lines + 1
        self.lines += len(lines)
        if span > self._limit and max(map(len, lines)) > self._limit:  # only when a line may be that long
            for i, line in enumerate(lines):
                if len(line) > self._limit:
                    self.over_long[first + i] = len(line)
                    lines[i] = line[: self._limit]
        return lines

    def _cut(self, head: bytes, size: int) -> bytes:
        self.lines += 1
        self.over_long[self.lines] = size
        return head


def _batches(chunks: Iterator[list[bytes]], size: int) -> Iterator[list[bytes]]:
    """Batches of ``size`` lines (the last may be shorter) from runs of lines of any length."""
    pending: list[bytes] = []
    for lines in chunks:
        pending.extend(lines)
        if len(pending) >= size:
            cut = len(pending) - len(pending) % size
            for start in range(0, cut, size):
                yield pending[start : start + size]
            pending = pending[cut:]
    if pending:
        yield pending


class _FileProgress:
    """The shared progress bar, measuring bytes screened of the file's size and events per second."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._bar = ProgressBar(stream, interval=0.1)
        self._total = max(total, 1)

    def update(self, done: int, events: int, elapsed: float, *, final: bool = False) -> None:
        """Redraw at most every 0.1 s (always when ``final``)."""
        if final or self._bar.due(elapsed):
            rate = events / elapsed if elapsed > 0 else 0.0
            text = f"{_megabytes(done)} of {_megabytes(self._total)}  {rate:,.0f} events/s"
            self._bar.draw(done / self._total, text, elapsed, final=final)

    def abandon(self) -> None:
        """End the bar's line where it stands, so that what follows starts on a line of its own."""
        self._bar.close()


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


class _Sinks:
    """The three ``.partial`` outputs; ``commit`` renames them to their final names."""

    def __init__(self, outputs: Outputs, stack: ExitStack) -> None:
        self.outputs = outputs
        self._partials = tuple(_partial(p) for p in outputs.paths())
        try:
            self._files = tuple(stack.enter_context(p.open("wb")) for p in self._partials)
        except OSError as exc:
            raise ConfigError(f"cannot write to {outputs.cleared.parent}: {exc.strerror}") from exc

    def destinations(self) -> dict[Verdict, str]:
        """Each verdict's output file, as the output step's record topic."""
        return {verdict: str(path) for verdict, path in zip(Verdict, self.outputs.paths(), strict=True)}

    def write(self, records: list[OutputRecord]) -> None:
        """Append one batch's values, one a line, each to its record's file; flush them to the system."""
        topics = [str(path) for path in self.outputs.paths()]
        groups = [[record.value for record in records if record.topic == topic] for topic in topics]
        for file, values in zip(self._files, groups, strict=True):
            if values:
                values.append(b"")  # the last value's "\n"
                file.write(b"\n".join(values))
                file.flush()

    def commit(self) -> None:
        """Make the outputs durable, then give them their final names."""
        for file in self._files:
            file.flush()
            os.fsync(file.fileno())
        for partial, final in zip(self._partials, self.outputs.paths(), strict=True):
            partial.replace(final)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def _open_input(name: str, stdin: BinaryIO | None, stack: ExitStack) -> tuple[BinaryIO, int | None]:
    """The input stream and its size in bytes when it is a regular file."""
    if name == STDIN:
        return (stdin if stdin is not None else sys.stdin.buffer), None
    try:
        stream: BinaryIO = stack.enter_context(open(name, "rb"))  # noqa: SIM115  # closed by the stack
    except IsADirectoryError as exc:
        raise ConfigError(f"the input {name!r} is a folder, not a JSON Lines file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the input file {name!r}: {exc.strerror}") from exc
    info = os.fstat(stream.fileno())
    return stream, info.st_size if stat.S_ISREG(info.st_mode) else None


def run_file(
    settings: FileRunSettings,
    automaton: NameAutomaton,
    *,
    stdin: BinaryIO | None = None,
    progress: TextIO | None = None,
    clock: Callable[[], datetime] | None = None,
    allowlist: Allowlist | None = None,
) -> RunSummary:
    """Screen ``settings.input`` into the three outputs under ``settings.out_dir`` and say what happened.

        ``stdin`` replaces ``sys.stdin.buffer`` for input ``-``; ``progress`` gets the bar (regular files
        only); ``clock`` stamps each batch (default: the time it is screened); ``allowlist`` (entries from
    ``txscreen allow export``) clears the blocked events whose every hit an active entry covers.
    Operational failures raise
        :class:`~schemas.errors.TxscreenError` and leave the ``.partial`` outputs behind.
    """
    out_dir = settings.out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the output folder {str(out_dir)!r}: {exc.strerror}") from exc
    outputs = Outputs.in_dir(out_dir)
    started = time.perf_counter()
    with ExitStack() as stack:
        stream, total = _open_input(settings.input, stdin, stack)
        sinks = _Sinks(outputs, stack)
        bar = _FileProgress(progress, total) if progress is not None and total is not None else None
        reader = LineReader(stream, settings.max_event_bytes)
        screener = _BatchScreener(settings, automaton, sinks, reader.over_long, clock, allowlist=allowlist)
        two = settings.threads == 2 and automaton.engine.native  # the pure triage holds the GIL: no gain
        pool = stack.enter_context(ThreadPoolExecutor(1, "txscreen-triage")) if two else None
        try:
            batches = (screener.take(lines) for lines in _batches(reader.chunks(), settings.batch_size))
            for batch, triaged in _triaged(filter(None, batches), screener.triage, pool):
                screener.finish(batch, triaged)
                if bar is not None:
                    bar.update(reader.bytes_read, screener.events, time.perf_counter() - started)
            sinks.commit()
        except OSError as exc:
            if bar is not None:
                bar.abandon()
            partial = out_dir / f"*.jsonl{PARTIAL_SUFFIX}"
            message = f"screening stopped: {exc.strerror or exc}; partial outputs are left in {partial}"
            raise TxscreenError(message) from exc
        except BaseException:
            if bar is not None:
                bar.abandon()
            log.warning("screening stopped: partial outputs are left in %s", out_dir)
            raise
        elapsed = time.perf_counter() - started
        if bar is not None:
            bar.update(reader.bytes_read, screener.events, elapsed, final=True)
    return RunSummary(
        input=settings.input,
        outputs=outputs,
        read=screener.read,
        cleared=screener.cleared,
        blocked=screener.blocked,
        dead_lettered=screener.dead_lettered,
        skipped=screener.skipped,
        bytes_read=reader.bytes_read,
        elapsed_seconds=elapsed,
        watchlist_version=automaton.version,
    )


def _triaged(
    batches: Iterable[_Batch], triage: Callable[[_Batch], Triaged], pool: Executor | None
) -> Iterator[tuple[_Batch, Triaged]]:
    """Each batch with its triage, in order. With ``pool``, the next batch is read and its triage started
    on the pool's thread before this one is handed out: the native triage runs without the GIL, so it
    overlaps the caller's work on this one (the full path, the output records, the writes)."""
    if pool is None:
        for batch in batches:
            yield batch, triage(batch)
        return
    pending: tuple[_Batch, Future[Triaged]] | None = None
    for batch in batches:
        started = pool.submit(triage, batch)
        if pending is not None:
            yield pending[0], pending[1].result()
        pending = (batch, started)
    if pending is not None:
        yield pending[0], pending[1].result()


def _file_lines(file: str, raws: list[bytes | None], numbers: Sequence[int]) -> MessageAdapter[int]:
    """How the output step reads a batch whose messages are positions in it: no key, no headers;
    a line's source is ``{"file", "line"}``."""
    return MessageAdapter(
        raws.__getitem__, _none, _none, lambda i: {"file": file, "line": numbers[i]}, bare=True
    )


def _none(_position: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch of non-blank lines: their bytes, line numbers, and the true sizes of those cut short."""

    raws: list[bytes | None]
    numbers: Sequence[int]
    cut: dict[int, int]


class _BatchScreener:
    """Screens batches of lines, routes their values to the sinks and keeps the counts."""

    def __init__(
        self,
        settings: FileRunSettings,
        automaton: NameAutomaton,
        sinks: _Sinks,
        over_long: dict[int, int],
        clock: Callable[[], datetime] | None,
        *,
        allowlist: Allowlist | None = None,
    ) -> None:
        self._allowlist = allowlist
        self._file = settings.input
        self._limit = settings.max_event_bytes
        self._automaton = automaton
        self._sinks = sinks
        self._destinations = sinks.destinations()
        self._over_long = over_long
        self._clock = clock
        self.read = self.cleared = self.blocked = self.dead_lettered = self.skipped = 0

    @property
    def events(self) -> int:
        """Lines screened so far."""
        return self.cleared + self.blocked + self.dead_lettered

    def take(self, lines: list[bytes]) -> _Batch | None:
        """The next batch of lines without the blank ones (counted), or ``None`` when all are blank."""
        first = self.read + 1  # line number of lines[0]
        self.read += len(lines)
        cut = self._take_over_long(first, len(lines))
        numbers: Sequence[int] = range(first, self.read + 1)
        raws: list[bytes | None] = list(lines)
        if not all(lines) or any(map(bytes.isspace, lines)):
            kept = [i for i, line in enumerate(lines) if i in cut or (line and not line.isspace())]
            self.skipped += len(lines) - len(kept)
            numbers = [first + i for i in kept]
            raws = [lines[i] for i in kept]
            cut = {j: cut[i] for j, i in enumerate(kept) if i in cut}
        return _Batch(raws, numbers, cut) if raws else None

    def triage(self, batch: _Batch) -> Triaged:
        """The core's first step over a batch (:func:`matchers.screening.triage_batch`): any thread."""
        return triage_batch(batch.raws, self._automaton, max_event_bytes=self._limit, cut=batch.cut)

    def finish(self, batch: _Batch, triaged: Triaged) -> None:
        """Decide a triaged batch at the clock's time (rule f) and write its values."""
        raws = batch.raws
        positions = range(len(raws))  # the messages are positions in the batch: no object per line
        adapter = _file_lines(self._file, raws, batch.numbers)
        result = screen_messages(
            positions,
            adapter,
            self._automaton,
            now=self._clock() if self._clock is not None else None,  # rule f: the screening time
            triaged=triaged,  # its size limit and cut lines came with it
        )
        allowed: dict[int, list[str]] = {}
        if self._allowlist is not None and result.hits:
            active = self._allowlist.active(parse_time(result.screened_at))  # the batch's clock
            result, allowed = apply_allowlist(result, raws, active)
        self.cleared += result.cleared
        self.blocked += result.blocked
        self.dead_lettered += result.dead_lettered
        records = output_records(
            positions, adapter, result, self._destinations, log_outcomes=False, allowlisted=allowed
        )
        self._sinks.write(records)
        log.debug("screened lines %d-%d", batch.numbers[0], batch.numbers[-1])

    def _take_over_long(self, first: int, count: int) -> dict[int, int]:
        """Sizes of this batch's over-long lines by index in the batch, taken out of the reader's map."""
        if not self._over_long:
            return {}
        end = first + count
        return {n - first: self._over_long.pop(n) for n in [n for n in self._over_long if n < end]}
