"""Output records: the verdict, a hit, the blocked record and the dead letter.

Blocked records and dead letters are JSON objects described by ``blocked_record.v1.schema.json``
and ``dead_letter.v1.schema.json``. A cleared event is written as its original bytes, unchanged.
A blocked record embeds the original event bytes as its ``event`` member, so the event is
carried exactly as received (field order, number spelling and unknown fields included).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import msgspec
import orjson
from msgspec import Struct


class Verdict(StrEnum):
    """The one place an event goes."""

    CLEARED = "cleared"
    BLOCKED = "blocked"
    DEAD_LETTER = "dead-letter"

    @property
    def count_name(self) -> str:
        """How counts and status lines name the events that got it (``dead-lettered`` for a dead letter)."""
        return "dead-lettered" if self is Verdict.DEAD_LETTER else self.value


class Hit(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why an event was blocked: one listed name found in one screened field.

    ``rule`` is ``anywhere`` or ``whole-field`` for an exact match, ``fuzzy`` for a match within the
    name's edit budget (``distance`` then says how many edits), ``corroborating`` for a weak alias of
    an entity that a strong name or a fuzzy match already hit in the same event.
    """

    entity_id: str
    list_id: str = msgspec.field(name="list")
    entity_name: str
    entity_type: str
    matched_name: str
    field: str
    start: int
    end: int
    matched_text: str
    programs: list[str]
    rule: str
    in_force_at: str
    distance: int | None = None


#: ``Hit.in_force_at``: the entity was in force at the event's ``created_at``, at ``screened_at``, or both.
IN_FORCE_AT_CREATED: Final = "created_at"
IN_FORCE_AT_SCREENED: Final = "screened_at"
IN_FORCE_AT_BOTH: Final = "both"

#: A blocked record lists at most this many hits (the first in hit order); ``hits_total`` counts them all.
MAX_HITS_PER_RECORD: Final = 100


class Rescreen(Struct, frozen=True, kw_only=True):
    """The ``rescreen`` marker of a blocked record written by ``txscreen rescreen``."""

    previous_version: str
    """The version that had cleared the event (``unknown`` when its cleared record named none)."""
    cleared_at: str | None = None
    """When it was cleared (the cleared record's ``txscreen-screened-at`` header)."""


class BlockedRecord(Struct, kw_only=True):
    """The record written to the blocked topic/file (decoded form, for readers and tests)."""

    event: dict[str, Any]
    verdict: str
    hits: list[Hit]
    hits_total: int
    source: dict[str, Any]
    watchlist_version: str
    screened_at: str
    rescreen: Rescreen | None = None
    """Only on records of ``txscreen rescreen`` (an optional member: older readers ignore it)."""


class DeadLetter(Struct, kw_only=True):
    """The record written to the dead-letter topic/file."""

    raw: str
    raw_encoding: str
    error: str
    source: dict[str, Any]
    failed_at: str


def screening_time(now: datetime | None = None) -> datetime:
    """``now`` (it must carry a timezone), or the current UTC time when ``None``: the clock of a screening."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"the screening time must carry a timezone, got {now.isoformat()}")
    return now


def timestamp(at: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as stamped on records (``screened_at``)."""
    at = at or datetime.now(UTC)
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_blocked(
    raw_event: bytes,
    hits: list[Hit],
    watchlist_version: str,
    screened_at: str,
    *,
    source: dict[str, Any],
    hits_total: int | None = None,
) -> bytes:
    """The blocked record for a valid event, with the event's original bytes embedded as ``event``.

    ``hits`` are the hits recorded (at most :data:`MAX_HITS_PER_RECORD`); ``hits_total`` counts
    every hit the event has (default ``len(hits)``). ``source`` says where the event came from.
    """
    tail = orjson.dumps(
        {
            "verdict": Verdict.BLOCKED.value,
            "hits": msgspec.to_builtins(hits),
            "hits_total": len(hits) if hits_total is None else hits_total,
            "source": source,
            "watchlist_version": watchlist_version,
            "screened_at": screened_at,
        }
    )
    return b'{"event":' + raw_event.strip() + b"," + tail[1:]


def with_rescreen(record: bytes, marker: Rescreen) -> bytes:
    """A blocked record (as :func:`encode_blocked` writes it) with the ``rescreen`` marker added last."""
    body = record.rstrip()
    if not body.endswith(b"}"):
        raise ValueError("not a blocked record")
    return body[:-1] + b',"rescreen":' + msgspec.json.encode(marker) + b"}"


def encode_dead_letter(raw: bytes | None, error: str, source: dict[str, Any], failed_at: str) -> bytes:
    """The dead letter for an input that is not a valid payment event."""
    data = raw or b""
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return orjson.dumps(
        {"raw": text, "raw_encoding": encoding, "error": error, "source": source, "failed_at": failed_at}
    )


decode_blocked = msgspec.json.Decoder(BlockedRecord).decode
decode_dead_letter = msgspec.json.Decoder(DeadLetter).decode


def dead_letter_raw(record: DeadLetter) -> bytes:
    """The original input bytes of a dead letter."""
    if record.raw_encoding == "base64":
        return base64.b64decode(record.raw)
    return record.raw.encode("utf-8")


_BLOCKED_HEAD: Final = b'{"event":'


def blocked_event_bytes(record: bytes) -> bytes:
    """The event bytes a blocked record embeds, exactly as :func:`encode_blocked` wrote them.

    That is the input's bytes without leading and trailing whitespace. The record's tail is rebuilt
    from its parsed members (orjson writes it the same way twice); a record written otherwise gives
    its event re-encoded as compact JSON.
    """
    parsed = orjson.loads(record)
    tail = orjson.dumps({k: v for k, v in parsed.items() if k != "event"})
    if record.startswith(_BLOCKED_HEAD) and record.endswith(tail[1:]) and len(tail) > 2:
        return record[len(_BLOCKED_HEAD) : len(record) - len(tail)]
    return orjson.dumps(parsed["event"])
