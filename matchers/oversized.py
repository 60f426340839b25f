"""Outputs too big to produce: each becomes a dead letter that fits; part of the core's result assembly.

:func:`matchers.screening.screen_batch` applies it when given ``max_output_bytes``, so the verdict,
the error and the record written always agree. The limit is the caller's (the Kafka engines keep a
record, with its key and headers, below the producers' 1,000,000-byte request limit); the core knows
nothing of Kafka. The dead letter says why with the event's own size (an event over the size limit, an event
too big to pass on as it is, or one whose blocked record would be too big) and, as file mode does,
keeps the event's first bytes in ``raw``: as many as fit in the limit. The whole input stays in its
topic; the dead letter's ``source`` says where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schemas.records import Verdict, encode_dead_letter

if TYPE_CHECKING:  # the core imports this module while it assembles its result
    from matchers.screening import BatchResult

#: Bytes kept free in a dead letter for what JSON escaping may add on a second try.
_SLACK = 256


def dead_letter_oversized(
    result: BatchResult,
    source_of: Callable[[int], dict[str, Any]],
    limit: int,
    *,
    raw_of: Callable[[int], bytes | None] | None = None,
) -> list[bytes]:
    """The values to produce: ``result.values`` with each one over ``limit`` replaced by a dead letter.

    ``raw_of(i)`` gives input ``i``'s bytes (without it the dead letter's ``raw`` is empty).
    ``result``'s verdicts, hits and errors are updated to match, so counts and headers agree (the core
    calls this while it assembles ``result``, before anyone else sees it).
    """
    values = result.values
    if not values or max(map(len, values)) <= limit:
        return values
    values = list(values)
    for i, value in enumerate(values):
        if len(value) <= limit:
            continue
        raw = raw_of(i) if raw_of is not None else None
        error = _reason(result, i, len(value), raw, limit)
        values[i] = _fitting_dead_letter(raw, error, source_of(i), result.screened_at, limit)
        result.verdicts[i] = Verdict.DEAD_LETTER
        result.hits.pop(i, None)
        result.hits_total.pop(i, None)
        result.errors[i] = error
    return values


def _reason(result: BatchResult, i: int, record_size: int, raw: bytes | None, limit: int) -> str:
    """Why input ``i`` is dead-lettered, by its own size."""
    verdict = result.verdicts[i]
    if verdict is Verdict.DEAD_LETTER and i in result.errors:
        return result.errors[i]  # the core's reason (an event over the size limit says its size)
    if raw is None:
        return (
            f"the {verdict.value} record would be {record_size:,} bytes, more than the {limit:,}-byte "
            "limit of an output record; the input is left in its topic"
        )
    if verdict is Verdict.CLEARED:
        return f"event is {len(raw):,} bytes, more than the {limit:,} bytes an output record may hold"
    return (
        f"event is {len(raw):,} bytes and its {verdict.value} record would be {record_size:,} bytes, "
        f"more than the {limit:,} bytes an output record may hold"
    )


def _fitting_dead_letter(
    raw: bytes | None, error: str, source: dict[str, Any], failed_at: str, limit: int
) -> bytes:
    """The dead letter with as many of the input's first bytes as fit within ``limit`` bytes."""
    if not raw:
        return encode_dead_letter(None, error, source, failed_at)
    budget = limit - len(encode_dead_letter(None, error, source, failed_at)) - _SLACK
    while True:
        head = _utf8_head(raw, max(budget, 0))
        letter = encode_dead_letter(head, error, source, failed_at)
        if len(letter) <= limit or not head:
            return letter
        budget = len(head) * limit // len(letter) - _SLACK  # escaping grew it: shrink in proportion


def _utf8_head(raw: bytes, size: int) -> bytes:
    """The first ``size`` bytes of ``raw``, not cutting a UTF-8 character in two."""
    head = raw[:size]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return head[: exc.start]
    return head
