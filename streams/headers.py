"""The Kafka headers every output record carries, and where each verdict goes.

An output record keeps the input's key and the input's headers, in their order, followed by:

==============================  ================================================  ==========================
header                          value (UTF-8)                                     example
==============================  ================================================  ==========================
``txscreen-verdict``            ``cleared``, ``blocked`` or ``dead-letter``       ``blocked``
``txscreen-watchlist-version``  the loaded lists' version, as in blocked records  ``sha256:443a…`` (64 hex)
``txscreen-screened-at``        when the batch was screened: RFC 3339 UTC, ms     ``2026-01-05T10:00:00.123Z``
==============================  ================================================  ==========================

When an input already carries one of these names (it was screened before), the new header is
appended after it: readers take the last value of a name (:func:`last_header`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from schemas.records import Verdict
from streams.settings import Topics

VERDICT: Final = "txscreen-verdict"
WATCHLIST_VERSION: Final = "txscreen-watchlist-version"
SCREENED_AT: Final = "txscreen-screened-at"

Headers = list[tuple[str, str | bytes | None]]
Route = tuple[str, Headers]


def verdict_headers(verdict: Verdict, watchlist_version: str, screened_at: str) -> Headers:
    """The three txscreen headers of one output record."""
    return [
        (VERDICT, verdict.value.encode()),
        (WATCHLIST_VERSION, watchlist_version.encode()),
        (SCREENED_AT, screened_at.encode()),
    ]


def routes(topics: Topics, watchlist_version: str, screened_at: str) -> dict[Verdict, Route]:
    """For one screened batch: each verdict's topic and the headers appended to its records."""
    destination = {
        Verdict.CLEARED: topics.cleared,
        Verdict.BLOCKED: topics.blocked,
        Verdict.DEAD_LETTER: topics.dlq,
    }
    return {
        verdict: (topic, verdict_headers(verdict, watchlist_version, screened_at))
        for verdict, topic in destination.items()
    }


def last_header(headers: Sequence[tuple[str, str | bytes | None]] | None, name: str) -> str | bytes | None:
    """The last value of header ``name``, or None when the record has no such header."""
    found: str | bytes | None = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found
