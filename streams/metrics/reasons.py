"""A dead letter's reason, as a short class from a small fixed set (a metric label, never the free text).

The reasons are written by :func:`schemas.events.decode_batch`, :mod:`schemas.json_shape`,
:mod:`matchers.oversized` and the core; each pattern below matches how one of them begins. A reason
no pattern knows is ``other`` (a test keeps that class empty for every reason the code writes).
"""

from __future__ import annotations

import re
from typing import Final

#: (class, pattern matched at the start of the reason), first match wins.
_CLASSES: Final = (
    ("empty", re.compile(r"empty message$")),
    ("tombstone", re.compile(r"tombstone")),
    ("too-large", re.compile(r"event is [\d,]+ bytes, (larger|more) than")),
    ("too-large", re.compile(r"the \w[\w-]* record would be [\d,]+ bytes")),
    ("not-utf8", re.compile(r"input is not valid UTF-8")),
    ("not-json", re.compile(r"invalid JSON")),
    ("too-deep", re.compile(r"event nests \d+ levels deep")),
    ("repeated-key", re.compile(r"(repeated key|an object of the event repeats)")),
    ("not-an-object", re.compile(r"event must be a JSON object")),
    ("missing-field", re.compile(r"missing required field")),
    ("blank-name", re.compile(r"\w+\.name must not be blank")),
    ("bad-amount", re.compile(r"amount must be")),
    ("bad-value", re.compile(r"(currency|[\w.]+\.country|created_at|id) (must|is longer)")),
    ("bad-value", re.compile(r"[\w.]+ must (not be empty|be )")),
    ("invalid-event", re.compile(r"invalid event")),
)
#: Every class a dead letter can get, in the order dashboards list them.
REASON_CLASSES: Final = (*dict.fromkeys(name for name, _ in _CLASSES), "other")


def reason_class(reason: str) -> str:
    """The short class of a dead letter's reason (``other`` for one no pattern knows)."""
    for name, pattern in _CLASSES:
        if pattern.match(reason):
            return name
    return "other"
