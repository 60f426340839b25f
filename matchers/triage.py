"""The native triage's answer per event (``matchers._native.Triage.classify``), as one enum, and the
fields it says hold a key (``Triage.key_fields``).

The Rust side (``native/src/lib.rs``) keeps the same values as constants and exports them as
``matchers._native.TRIAGE_CODES``; a test checks that the two agree.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from schemas.events import SCREENED_FIELDS

#: ``Triage.key_fields`` of an event whose every field the full path screens: a bit per screened field.
ALL_FIELDS: Final = (1 << len(SCREENED_FIELDS)) - 1


class TriageCode(IntEnum):
    """What the triage says of one raw event."""

    CLEAN = 0  # certainly clean: cleared without Python work
    FULL_PATH = 1  # take the full path, which decides
    CHECK_TEXTS = 2  # clean unless one of its texts handed back to Python holds a key
