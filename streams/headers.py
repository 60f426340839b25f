"""The Kafka headers every output record carries, and where each verdict goes.

An output record keeps the input's key and the input's headers, in their order, followed by:

==============================  ================================================  ==========================
header                          value (UTF-8)                                     example
==============================  ================================================  ==========================
``txscreen-verdict``            ``cleared``, ``blocked`` or ``dead-letter``       ``blocked``
``txscreen-watchlist-version``  the loaded lists' version, as in blocked records  ``sha256:443a…`` (64 hex)
``txscreen-screened-at``        when the batch was screened: RFC 3339 UTC, ms     ``2026-01-05T10:00:00.123Z``
==============================  ================================================  ==========================

A record the allowlist cleared also carries :data:`ALLOWLISTED`; a payment the review service released
carries ``txscreen-verdict: released`` with :data:`CASE` and :data:`DECISION`.

Only txscreen sets these: an input's own ``txscreen-*`` headers are dropped (:func:`own_headers`),
whatever their case, spacing or separators, so that a producer cannot forge a verdict and every
output carries exactly one of each. The engines count the drops and log them once per batch. The
one exception is :data:`REPLAY_OF`, which ``txscreen dlq replay`` puts on the input: its first copy,
spelled exactly, is passed on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from schemas.records import Verdict
from streams.settings import Topics

VERDICT: Final = "txscreen-verdict"
WATCHLIST_VERSION: Final = "txscreen-watchlist-version"
SCREENED_AT: Final = "txscreen-screened-at"
#: Set on the input topic by ``txscreen dlq replay``: the dead letter an event was replayed from. The one
#: ``txscreen-*`` input header the engines pass on (its first exact copy only); check it against the
#: replay audit topic, which is keyed by the same ``topic[partition]@offset``.
REPLAY_OF: Final = "txscreen-replay-of"
#: On a cleared record the allowlist cleared: the comma-separated ids of the entries that covered its hits.
ALLOWLISTED: Final = "txscreen-allowlisted"
#: On a record the review service released to the cleared topic: the case and the executing decision ids.
CASE: Final = "txscreen-case"
DECISION: Final = "txscreen-decision"
#: ``txscreen-verdict`` of a record the review service released.
RELEASED: Final = "released"
#: Set by ``txscreen rescreen`` on each blocked record it writes: ``<old version> -> <new version>``.
RESCREEN: Final = "txscreen-rescreen"
#: Set by ``txscreen loadgen --produced-at-header``: the produce time, in ns since the epoch.
PRODUCED_AT: Final = "txscreen-produced-at"

#: What an input header name is folded to before it is compared with :data:`RESERVED_PREFIX`.
RESERVED_PREFIX: Final = "txscreen"
#: Characters removed from a header name before the comparison: separators an evader might vary.
_SEPARATORS: Final = frozenset("-_.:/ ")

_REPLAY_OF_BYTES: Final = REPLAY_OF.encode()

Headers = list[tuple[str, str | bytes | None]]
Route = tuple[str, Headers]


def is_reserved(name: str | bytes) -> bool:
    """Whether an input header name is txscreen's own (``txscreen-*``), however it is disguised.

    The name is folded as a lenient reader might read it: NFKC (full-width letters), case folded,
    without control, format (zero-width) or space characters and without separators; a name that
    then starts with ``txscreen`` is reserved (``TXSCREEN-VERDICT``, `` txscreen_verdict``,
    ``ｔｘｓｃｒｅｅｎ-verdict``, ``txscreen\u200b-verdict``).
    """
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if name.startswith(RESERVED_PREFIX):  # the common case, and the cheapest
        return True
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(
        c for c in folded if c not in _SEPARATORS and not c.isspace() and unicodedata.category(c)[0] != "C"
    )
    return kept.startswith(RESERVED_PREFIX)


def own_headers(
    original: Iterable[tuple[Any, Any]] | Mapping[Any, Any] | None, extra: Headers
) -> tuple[Headers, int]:
    """An output's headers: the input's, without any ``txscreen-*`` one, then ``extra``; and how many went.

    ``original`` is a consumed message's headers (a list of pairs, a mapping for Faust, or None).
    """
    if not original:
        return extra, 0
    pairs = list(original.items() if isinstance(original, Mapping) else original)
    kept: Headers = []
    replay_seen = False
    for name, value in pairs:
        if not is_reserved(name):
            kept.append((name, value))
        elif not replay_seen and name in (REPLAY_OF, _REPLAY_OF_BYTES):
            replay_seen = True
            kept.append((name, value))
    return kept + extra, len(pairs) - len(kept)


def verdict_headers(verdict: Verdict, watchlist_version: str, screened_at: str) -> Headers:
    """The three txscreen headers of one output record."""
    return [
        (VERDICT, verdict.value.encode()),
        (WATCHLIST_VERSION, watchlist_version.encode()),
        (SCREENED_AT, screened_at.encode()),
    ]


def routes(topics: Topics, watchlist_version: str, screened_at: str) -> dict[Verdict, Route]:
    """For one screened batch: each verdict's topic and the headers appended to its records."""
    return {
        verdict: (topic, verdict_headers(verdict, watchlist_version, screened_at))
        for verdict, topic in topics.by_verdict().items()
    }


def last_header(headers: Sequence[tuple[str, str | bytes | None]] | None, name: str) -> str | bytes | None:
    """The last value of header ``name``, or None when the record has no such header."""
    found: str | bytes | None = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found
