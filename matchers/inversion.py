"""Comma inversion: a whole party-name field written ``REST, FIRST`` also reads ``FIRST REST``.

``JALIL HABBUSH AL-TIKRITI, TAHIR`` reads ``TAHIR JALIL HABBUSH AL-TIKRITI`` (any number of words
before the comma, one comma in the field, words on both sides). The inverted reading is matched as a
whole field against names of individuals (the people written surname first): a listed form equal to
all of it is a hit, exact only (no fuzzy tier), reported over the whole field as written.
The automaton holds a key for each form's last word followed by its first word
(:func:`matchers.automaton.inversion_key`), so that the native triage sends such a field to the full
path, which reads it inverted.
"""

from __future__ import annotations

from matchers.normalize import fold


def inverted(text: str) -> str | None:
    """``FIRST REST`` for a field ``REST, FIRST`` (one comma, a word on each side), else ``None``."""
    if text.count(",") != 1:
        return None
    rest, first = (part.strip() for part in text.split(","))
    if not fold(rest) or not fold(first):
        return None
    return f"{first} {rest}"


def field_span(text: str) -> tuple[int, int]:
    """The span a hit on an inverted reading reports: the whole field, without its edge whitespace."""
    start = len(text) - len(text.lstrip())
    return start, len(text.rstrip())
