"""Outputs too big to produce: each becomes a dead letter without the raw bytes (any engine).

The input stays in its topic; the dead letter's ``source`` says where. The limit keeps a record,
with its key and headers, below the producers' 1,000,000-byte request limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matchers.screening import BatchResult
from schemas.records import Verdict, encode_dead_letter
from streams.clients import MAX_OUTPUT_BYTES


def dead_letter_oversized(
    result: BatchResult, source_of: Callable[[int], dict[str, Any]], limit: int = MAX_OUTPUT_BYTES
) -> list[bytes]:
    """The values to produce: ``result.values`` with each one over ``limit`` replaced by a dead letter.

    ``result``'s verdicts, hits and errors are updated to match, so counts and headers agree.
    """
    values = result.values
    if not values or max(map(len, values)) <= limit:
        return values
    values = list(values)
    for i, value in enumerate(values):
        if len(value) > limit:
            error = (
                f"the {result.verdicts[i].value} record would be {len(value):,} bytes, more than the "
                f"{limit:,}-byte limit; the input is left in its topic"
            )
            values[i] = encode_dead_letter(None, error, source_of(i), result.screened_at)
            result.verdicts[i] = Verdict.DEAD_LETTER
            result.hits.pop(i, None)
            result.errors[i] = error
    return values
