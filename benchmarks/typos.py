"""Seeded typo variants of listed names: what the fuzzy tier's recall is measured on.

One or two edits of a name as written: a letter deleted, inserted, substituted, two neighbours
swapped, a space dropped or added. :func:`typo_variants` keeps only variants whose fold is within
the name's budget of it (:func:`matchers.fuzzy.budget`) and differs from every exact form.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from matchers.fuzzy import budget, osa_distance
from matchers.normalize import fold


def _delete(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = rng.choice(letters)
    return text[:i] + text[i + 1 :]


def _insert(text: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(text))
    return text[:i] + rng.choice(string.ascii_uppercase) + text[i:]


def _substitute(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = rng.choice(letters)
    return text[:i] + rng.choice([c for c in string.ascii_uppercase if c != text[i].upper()]) + text[i + 1 :]


def _swap(text: str, rng: random.Random) -> str:
    pairs = [
        i
        for i in range(len(text) - 1)
        if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]
    ]
    if not pairs:
        return text
    i = rng.choice(pairs)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _drop_space(text: str, rng: random.Random) -> str:
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return text
    i = rng.choice(spaces)
    return text[:i] + text[i + 1 :]


def _add_space(text: str, rng: random.Random) -> str:
    inner = [i for i in range(1, len(text)) if text[i - 1].isalpha() and text[i].isalpha()]
    if not inner:
        return text
    i = rng.choice(inner)
    return text[:i] + " " + text[i:]


#: The kinds of edit, by name.
EDITS: dict[str, Callable[[str, random.Random], str]] = {
    "deletion": _delete,
    "insertion": _insert,
    "substitution": _substitute,
    "swap": _swap,
    "missing space": _drop_space,
    "extra space": _add_space,
}


def typo_variant(written: str, edits: int, rng: random.Random) -> tuple[str, str]:
    """``written`` with ``edits`` random edits, and the kinds applied (``+``-joined)."""
    kinds = []
    text = written
    for _ in range(edits):
        kind = rng.choice(sorted(EDITS))
        text = EDITS[kind](text, rng)
        kinds.append(kind)
    return text, "+".join(kinds)


def within_budget(form: str, variant: str) -> bool:
    """Whether the variant's fold is within the form's budget of it and not equal to it."""
    k = budget(len(form) - form.count(" "))
    d = osa_distance(form, fold(variant), k)
    return 0 < d <= k
