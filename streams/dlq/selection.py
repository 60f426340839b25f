"""Which dead letters ``txscreen dlq replay`` takes, and how it fixes them: pure functions, no Kafka.

A replay reads the dead-letter topic in order, partition by partition, and sorts each record into
one of three kinds (:func:`classify`):

* **held** — left for a later run: not consumed, not committed. A partition not chosen by
  ``--partition``, a record after the ``--offset`` range, a dead letter that failed after
  ``--until``; the partition stops there (everything after it is held too). The run stops after
  the ``--max``-th chosen dead letter (:class:`Gate`).
* **passed over** — consumed and committed, not replayed: before the ``--offset`` range, failed
  before ``--since``, an error without the ``--error-contains`` text, a record that is not a dead
  letter. The replay group's offsets move past it, so a later run of the same group does not see it.
* **chosen** — replayed, after its fix (:class:`FixFile`, :class:`FixCommand`); a fix that fails
  skips it with a reason, and it is passed over too.

Offsets are those of the dead letters in the dead-letter topic (as ``txscreen consume`` shows them).
"""

from __future__ import annotations

import base64
import binascii
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec
import orjson

from schemas.errors import ConfigError
from schemas.records import DeadLetter, decode_dead_letter

#: Seconds a fix command may take for one dead letter before it is skipped.
FIX_TIMEOUT: Final = 30.0


class Kind(Enum):
    """What a replay does with one record of the dead-letter topic."""

    HELD = "held"
    PASSED = "passed over"
    CHOSEN = "chosen"


class Located(Protocol):
    """A consumed record (a ``confluent_kafka.Message`` or a test double)."""

    def partition(self) -> int | None: ...

    def offset(self) -> int | None: ...

    def value(self) -> bytes | None: ...


def parse_time(raw: str, where: str) -> datetime:
    """An RFC 3339 time with a zone (``2026-11-30T17:00:00Z``); ConfigError otherwise."""
    try:
        at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ConfigError(
            f"{where} must be an RFC 3339 time with a zone, e.g. 2026-11-30T17:00:00Z, not {raw!r}."
        )
    return at


def parse_offsets(raw: str, where: str = "--offset") -> tuple[int | None, int | None]:
    """``A..B``, ``A..``, ``..B`` or ``A`` (inclusive offsets of the dead-letter topic)."""
    text = raw.strip()
    low_text, dots, high_text = text.partition("..")
    if not dots:
        high_text = low_text
    try:
        low = int(low_text) if low_text.strip() else None
        high = int(high_text) if high_text.strip() else None
    except ValueError:
        low = high = -1
    if (low is not None and low < 0) or (high is not None and high < 0) or (low is None and high is None):
        raise ConfigError(
            f"{where} must be FROM..TO, FROM.., ..TO or one offset (whole numbers), not {raw!r}."
        )
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where} starts after it ends: {raw!r}.")
    return low, high


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen dead letters (every one when nothing is set)."""

    partitions: frozenset[int] | None = None
    low: int | None = None
    high: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    error_contains: str | None = None
    max: int | None = None

    def describe(self) -> str:
        """``partitions 0,3, offsets 10..20, failed since …`` for the start-up line; ``every dead letter``."""
        parts = []
        if self.partitions is not None:
            parts.append(f"partitions {','.join(map(str, sorted(self.partitions)))}")
        if self.low is not None or self.high is not None:
            parts.append(
                f"offsets {'' if self.low is None else self.low}..{'' if self.high is None else self.high}"
            )
        if self.since is not None:
            parts.append(f"failed since {self.since.isoformat()}")
        if self.until is not None:
            parts.append(f"failed until {self.until.isoformat()}")
        if self.error_contains is not None:
            parts.append(f"error containing {self.error_contains!r}")
        if self.max is not None:
            parts.append(f"at most {self.max:,}")
        return ", ".join(parts) or "every dead letter"

    def takes_partition(self, partition: int) -> bool:
        """Whether ``--partition`` lets the run read ``partition`` at all."""
        return self.partitions is None or partition in self.partitions


def read_dead_letter(value: bytes | None) -> DeadLetter | None:
    """The dead letter in a record's value, or None when the value is not one."""
    if value is None:
        return None
    try:
        return decode_dead_letter(value)
    except msgspec.DecodeError:
        return None


def _failed_at(letter: DeadLetter) -> datetime | None:
    try:
        return parse_time(letter.failed_at, "failed_at")
    except ConfigError:
        return None


def _by_position(selection: Selection, partition: int, offset: int) -> tuple[Kind, str]:
    if not selection.takes_partition(partition):
        return Kind.HELD, "partition not chosen"
    if selection.high is not None and offset > selection.high:
        return Kind.HELD, "after --offset"
    if selection.low is not None and offset < selection.low:
        return Kind.PASSED, "before --offset"
    return Kind.CHOSEN, ""


def _by_time(selection: Selection, letter: DeadLetter) -> tuple[Kind, str]:
    if selection.since is None and selection.until is None:
        return Kind.CHOSEN, ""
    failed_at = _failed_at(letter)
    if failed_at is None:
        return Kind.PASSED, "failed_at unreadable"
    if selection.until is not None and failed_at > selection.until:
        return Kind.HELD, "failed after --until"
    if selection.since is not None and failed_at < selection.since:
        return Kind.PASSED, "failed before --since"
    return Kind.CHOSEN, ""


def classify(
    selection: Selection, partition: int, offset: int, letter: DeadLetter | None
) -> tuple[Kind, str]:
    """What a run does with the record at ``partition``/``offset``, and why (the reason of a pass-over)."""
    kind, reason = _by_position(selection, partition, offset)
    if kind is not Kind.CHOSEN:
        return kind, reason
    if letter is None:
        return Kind.PASSED, "not a dead letter record"
    kind, reason = _by_time(selection, letter)
    if kind is not Kind.CHOSEN:
        return kind, reason
    wanted = selection.error_contains
    if wanted is not None and wanted.casefold() not in letter.error.casefold():
        return Kind.PASSED, "error does not contain the --error-contains text"
    return Kind.CHOSEN, ""


@dataclass
class Gate:
    """Cuts consumed batches where a run must stop: a partition at its first held record, the run at --max.

    The records it drops are never committed, so a later run finds them again. ``held`` holds the
    partitions that are done for this run (the loop pauses them); ``done`` says the run is over.
    """

    selection: Selection
    chosen: int = 0
    held: set[int] = field(default_factory=set)
    done: bool = False

    def admit(self, records: Sequence[Located]) -> list[Any]:
        """The records of a batch (in consumption order) the run processes and commits."""
        kept: list[Any] = []
        for record in records:
            if self.done:
                break
            partition, offset = record.partition() or 0, record.offset() or 0
            if partition in self.held:
                continue
            kind, _reason = classify(self.selection, partition, offset, read_dead_letter(record.value()))
            if kind is Kind.HELD:
                self.held.add(partition)
                continue
            kept.append(record)
            if kind is Kind.CHOSEN:
                self.chosen += 1
                if self.selection.max is not None and self.chosen >= self.selection.max:
                    self.done = True
        return kept


def event_id(value: bytes) -> str | None:
    """The ``id`` of a JSON event, or None (not JSON, not an object, no string id)."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    found = parsed.get("id") if isinstance(parsed, dict) else None
    return found if isinstance(found, str) else None


def original_bytes(letter: DeadLetter) -> bytes | None:
    """The dead letter's ``raw`` as bytes (base64-decoded when ``raw_encoding`` says so); None if garbled."""
    if letter.raw_encoding == "base64":
        try:
            return base64.b64decode(letter.raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    return letter.raw.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Fixed:
    """A fix's outcome: the event to replay, or why the dead letter is skipped."""

    value: bytes | None
    reason: str = ""


class Fixer(Protocol):
    """Turns a dead letter's original bytes into the event to replay."""

    label: str
    """``file FILE`` or ``command CMD``, for the start-up line."""
    kind: str | None
    """``file``, ``command``, or None (no fix): the audit record's ``fix``."""

    def fix(self, letter: DeadLetter, raw: bytes) -> Fixed: ...


def _source_key(source: Any) -> tuple[str, int, int] | None:
    if not isinstance(source, dict):
        return None
    topic, partition, offset = source.get("topic"), source.get("partition"), source.get("offset")
    if not isinstance(topic, str) or type(partition) is not int or type(offset) is not int:
        return None
    return topic, partition, offset


def _fix_line(line: bytes, where: str) -> tuple[tuple[str, int, int] | str, bytes]:
    """One line of a fixed-events file: (its source key or its event id, the corrected event)."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not JSON ({exc}).") from None
    if not isinstance(entry, dict) or "event" not in entry or ("source" in entry) == ("id" in entry):
        raise ConfigError(f'{where} must be an object with "event" and either "source" or "id".')
    event = entry["event"]
    if isinstance(event, str):
        value = event.encode("utf-8")
    elif isinstance(event, dict):
        value = orjson.dumps(event)
    else:
        raise ConfigError(f'{where}: "event" must be a JSON object or a string.')
    if "source" in entry:
        key = _source_key(entry["source"])
        if key is None:
            raise ConfigError(f'{where}: "source" must be {{"topic": T, "partition": P, "offset": O}}.')
        return key, value
    ident = entry["id"]
    if not isinstance(ident, str) or not ident:
        raise ConfigError(f'{where}: "id" must be a non-empty string.')
    return ident, value


class FixFile:
    """Corrected events from a JSON Lines file, each matched to dead letters by source or by event id.

    Every line is an object with ``event`` (the corrected event: a JSON object, written compactly, or
    a string, taken as the exact text) and exactly one of:

    * ``"source": {"topic": T, "partition": P, "offset": O}`` — the dead letter whose ``source`` is
      that (where the refused input was read: one input, so one dead letter);
    * ``"id": "EVENT-ID"`` — every chosen dead letter whose original input parses as a JSON object
      with that ``id`` (an input produced twice is replayed twice, as it was produced).

    A source line wins over an id line for the same dead letter. A repeated source or id, or a line
    that is not such an object, refuses the file (ConfigError naming the line). A chosen dead letter
    that no line matches is skipped ("no corrected line").
    """

    def __init__(
        self, by_source: dict[tuple[str, int, int], bytes], by_id: dict[str, bytes], path: str
    ) -> None:
        self.by_source = by_source
        self.by_id = by_id
        self.label = f"file {path}"
        self.kind: str | None = "file"

    @classmethod
    def parse(cls, lines: Iterable[bytes], path: str) -> FixFile:
        """Read the lines (ConfigError with ``path:line`` for a bad one)."""
        by_source: dict[tuple[str, int, int], bytes] = {}
        by_id: dict[str, bytes] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            match, value = _fix_line(line, where)
            if isinstance(match, tuple):
                if match in by_source:
                    raise ConfigError(f"{where} repeats the source {match[0]}[{match[1]}]@{match[2]}.")
                by_source[match] = value
            else:
                if match in by_id:
                    raise ConfigError(f"{where} repeats the id {match!r}.")
                by_id[match] = value
        return cls(by_source, by_id, path)

    @classmethod
    def load(cls, path: Path) -> FixFile:
        """Read ``path`` (ConfigError when it cannot be read or a line is bad)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the fixed-events file {path}: {exc.strerror or exc}.") from exc
        return cls.parse(data.splitlines(), str(path))

    def fix(self, letter: DeadLetter, raw: bytes) -> Fixed:
        """The corrected line for this dead letter, by source then by id; a skip when none matches."""
        key = _source_key(letter.source)
        if key is not None and key in self.by_source:
            return Fixed(self.by_source[key])
        ident = event_id(raw)
        if ident is not None and ident in self.by_id:
            return Fixed(self.by_id[ident])
        return Fixed(None, "no corrected line")


class FixCommand:
    """A shell command that reads one original event on stdin and writes the fixed event on stdout.

    Its output, without the trailing line break, is replayed. A non-zero exit, no output, or more
    than :data:`FIX_TIMEOUT` seconds skips the dead letter with that reason.
    """

    def __init__(self, command: str, timeout: float = FIX_TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout
        self.label = f"command {command!r}"
        self.kind: str | None = "command"

    def fix(self, letter: DeadLetter, raw: bytes) -> Fixed:
        """Run the command on ``raw``."""
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", self.command],
                input=raw,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Fixed(None, f"fix command took over {self.timeout:.0f} s")
        except OSError as exc:
            return Fixed(None, f"fix command could not start ({exc.strerror or exc})")
        if done.returncode != 0:
            return Fixed(None, f"fix command exited {done.returncode}")
        value = done.stdout.rstrip(b"\r\n")
        if not value.strip():
            return Fixed(None, "fix command printed nothing")
        return Fixed(value)


class NoFix:
    """Replays the original bytes as they are."""

    label = "none (original bytes)"
    kind: str | None = None

    def fix(self, letter: DeadLetter, raw: bytes) -> Fixed:
        """``raw`` unchanged."""
        return Fixed(raw)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a run does with one consumed record of the dead-letter topic."""

    kind: Kind
    reason: str = ""
    """Why it is passed over or skipped (empty when it is replayed)."""
    letter: DeadLetter | None = None
    value: bytes | None = None
    """The event to replay."""

    @property
    def replays(self) -> bool:
        """Whether it is replayed."""
        return self.value is not None


def decide(selection: Selection, fixer: Fixer, partition: int, offset: int, value: bytes | None) -> Decision:
    """Classify one record and, when chosen, fix it: the event to replay or the reason it is not."""
    letter = read_dead_letter(value)
    kind, reason = classify(selection, partition, offset, letter)
    if kind is not Kind.CHOSEN or letter is None:
        return Decision(kind, reason, letter)
    raw = original_bytes(letter)
    if raw is None:
        return Decision(kind, "raw is not valid base64", letter)
    fixed = fixer.fix(letter, raw)
    return Decision(kind, fixed.reason, letter, fixed.value)
